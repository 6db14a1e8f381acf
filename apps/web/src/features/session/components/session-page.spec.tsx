import { Code, ConnectError } from '@connectrpc/connect';
import { act, fireEvent, screen, waitFor } from '@testing-library/react';
import { FakeDashboard } from '../../../test/fake-dashboard';
import { ConnectionState, TrainingStatus } from '@trainwatch/proto';
import {
  batch,
  epochEvent,
  imageFrame,
  imagesEvent,
  metadataEvent,
  runMetadata,
  scalarsEvent,
  snapshot,
  statusUpdate,
} from '../../../test/fixtures';
import { setOnScreen } from '../../../test/intersection';
import { liveObjectUrlCount } from '../../../test/object-urls';
import { renderWithServer } from '../../../test/render';
import { SessionPage } from './session-page';

const fastRetry = { delayMs: () => 5 };

function points(): number {
  return Number(screen.getByTestId('loss-chart').getAttribute('data-points'));
}

describe('SessionPage', () => {
  it('shows the snapshot, then live points, images with labels, and epochs', async () => {
    const fake = new FakeDashboard();
    const urlsBefore = liveObjectUrlCount();
    const page = renderWithServer(fake, <SessionPage sessionId="run-1" watchOptions={fastRetry} />);
    // Image 1 predicts "dog" but is a "cat": the one wrong prediction.
    const frame = imageFrame(2, 16, (i) => (i === 1 ? 0 : i % 4));
    act(() => {
      fake.stream(0).push(snapshot(3n, [0, 1, 2], { images: frame }));
    });
    await waitFor(() => expect(points()).toBe(3));
    expect(screen.getByTestId('status-badge').textContent).toBe('RUNNING');
    expect(screen.getByTestId('connection-indicator').getAttribute('data-link')).toBe('live');
    expect(screen.getByText('tiny-cnn')).toBeTruthy();

    const tiles = screen.getAllByTestId('image-tile');
    expect(tiles).toHaveLength(16);
    expect(
      screen
        .getAllByTestId('image-label')
        .slice(0, 4)
        .map((label) => label.textContent),
    ).toEqual(['cat', 'dog', 'bird', 'fish']);
    expect(tiles.filter((tile) => tile.getAttribute('data-correct') === 'wrong')).toHaveLength(1);
    // Tiles are canvases painted from the bytes: no object URL per image.
    expect(screen.getAllByTestId('image-tile-canvas')).toHaveLength(16);
    expect(liveObjectUrlCount()).toBe(urlsBefore);

    act(() => {
      fake.stream(0).push(batch(4n, 3));
      fake.stream(0).push(batch(5n, 4));
      fake.stream(0).push(epochEvent(6n, 0, 0.42, 0.9));
    });
    await waitFor(() => expect(points()).toBe(5));
    expect(screen.getByTestId('progress-text').textContent).toBe('epoch 1 of 3, batch 5 of 10');
    expect(screen.getByTestId('epoch-chart').getAttribute('data-epochs')).toBe('1');

    fireEvent.click(screen.getByLabelText('Wrong only'));
    expect(screen.getAllByTestId('image-tile')).toHaveLength(1);
    expect(screen.getByTestId('image-label').textContent).toBe('dog');

    page.unmount();
    await waitFor(() => expect(fake.cancelled).toBe(1));
    expect(liveObjectUrlCount()).toBe(urlsBefore);
  });

  it('freezes a frame while newer ones arrive, and opens a larger view', async () => {
    const fake = new FakeDashboard();
    renderWithServer(fake, <SessionPage sessionId="run-1" watchOptions={fastRetry} />);
    act(() => fake.stream(0).push(snapshot(0n, [], { images: imageFrame(0, 4) })));
    await screen.findAllByTestId('image-tile');
    fireEvent.click(screen.getByText('Freeze'));
    act(() => fake.stream(0).push(imagesEvent(0n, imageFrame(7, 2))));
    act(() => fake.stream(0).push(batch(1n, 8)));
    await waitFor(() => expect(points()).toBe(1));
    expect(screen.getAllByTestId('image-tile')).toHaveLength(4);
    fireEvent.click(screen.getByText('Unfreeze'));
    // The newer frame shows within the image refresh interval.
    await waitFor(() => expect(screen.getAllByTestId('image-tile')).toHaveLength(2));

    fireEvent.click(screen.getAllByRole('button', { name: /Enlarge/ })[0]);
    expect(screen.getByTestId('image-lightbox').textContent).toContain('predicted cat');
    fireEvent.click(screen.getByText('Close'));
    expect(screen.queryByTestId('image-lightbox')).toBeNull();
  });

  it('says it is reconnecting after the stream breaks and continues the chart without duplicates', async () => {
    const fake = new FakeDashboard();
    renderWithServer(fake, <SessionPage sessionId="run-1" watchOptions={fastRetry} />);
    act(() => {
      fake.stream(0).push(snapshot(2n, [0, 1, 2]));
      fake.stream(0).push(batch(3n, 3));
    });
    await waitFor(() => expect(points()).toBe(4));
    act(() => fake.stream(0).fail(new ConnectError('server went away', Code.Unavailable)));
    expect((await screen.findByTestId('reconnecting-banner')).textContent).toContain(
      'Reconnecting…',
    );
    expect(screen.getByTestId('connection-indicator').textContent).toContain('Reconnecting…');

    act(() => {
      fake.stream(1).push(snapshot(0n, [2, 3, 4]));
      fake.stream(1).push(batch(1n, 5));
    });
    await waitFor(() => expect(points()).toBe(6));
    expect(screen.queryByTestId('reconnecting-banner')).toBeNull();
    expect(fake.watchRequests).toEqual(['run-1', 'run-1']);
  });

  it('explains an unknown session', async () => {
    const fake = new FakeDashboard();
    renderWithServer(fake, <SessionPage sessionId="nope" watchOptions={fastRetry} />);
    act(() => fake.stream(0).fail(new ConnectError('session nope not found', Code.NotFound)));
    expect((await screen.findByRole('alert')).textContent).toContain(
      'does not know session “nope”',
    );
  });

  it('says where history is missing, from the snapshot, and marks it on the loss chart', async () => {
    const fake = new FakeDashboard();
    renderWithServer(fake, <SessionPage sessionId="run-1" watchOptions={fastRetry} />);
    act(() => {
      fake
        .stream(0)
        .push(
          snapshot(3n, [500, 501], { session: { partialHistory: true, historyStartStep: 500n } }),
        );
    });
    const notice = await screen.findByTestId('partial-history-notice');
    expect(notice.textContent).toContain('History before step 500 is not on this server');
    expect(notice.textContent).toContain('restarted while the run went on');
    expect(screen.getByTestId('loss-chart').getAttribute('data-history-start-step')).toBe('500');
    expect(screen.getByTestId('missing-history-marker').textContent).toContain('before step 500');
  });

  it('shows a writer conflict and missing history announced live, and a CLOSED trainer', async () => {
    const fake = new FakeDashboard();
    renderWithServer(fake, <SessionPage sessionId="run-1" watchOptions={fastRetry} />);
    act(() => {
      fake.stream(0).push(snapshot(3n, [0, 1]));
    });
    await waitFor(() => expect(points()).toBe(2));
    expect(screen.queryByTestId('writer-conflict-banner')).toBeNull();
    expect(screen.queryByTestId('partial-history-notice')).toBeNull();
    act(() => {
      fake.stream(0).push(
        statusUpdate(4n, {
          status: TrainingStatus.RUNNING,
          connection: ConnectionState.CONNECTED,
          writerConflict: {
            clientName: 'rogue-trainer',
            peer: 'ipv4:10.1.2.3:4567',
            refusals: 3,
            lastRefusedAtMs: BigInt(Date.now()),
          },
        }),
      );
      // Every status event carries the session's current conflict and history marks.
      fake.stream(0).push(
        statusUpdate(5n, {
          status: TrainingStatus.RUNNING,
          connection: ConnectionState.CONNECTED,
          writerConflict: {
            clientName: 'rogue-trainer',
            peer: 'ipv4:10.1.2.3:4567',
            refusals: 3,
            lastRefusedAtMs: BigInt(Date.now()),
          },
          partialHistory: true,
          historyStartStep: 2n,
        }),
      );
    });
    const banner = await screen.findByTestId('writer-conflict-banner');
    expect(banner.textContent).toContain('client “rogue-trainer” from ipv4:10.1.2.3:4567');
    expect(banner.textContent).toContain('refused 3 times');
    expect((await screen.findByTestId('partial-history-notice')).textContent).toContain(
      'before step 2',
    );
    act(() => {
      fake.stream(0).push(
        statusUpdate(6n, {
          status: TrainingStatus.COMPLETED,
          connection: ConnectionState.CLOSED,
          partialHistory: true,
          historyStartStep: 2n,
        }),
      );
    });
    await waitFor(() => expect(screen.getByText('run ended, trainer closed')).toBeTruthy());
    expect(screen.getByTestId('status-badge').textContent).toBe('COMPLETED');
    // The refused trainer went away with the run: its banner goes too; the history mark stays.
    expect(screen.queryByTestId('writer-conflict-banner')).toBeNull();
    expect(screen.getByTestId('partial-history-notice')).toBeTruthy();
  });

  it('shows hyperparameters, tags and note in the header, and a panel per series', async () => {
    const fake = new FakeDashboard();
    renderWithServer(fake, <SessionPage sessionId="run-1" watchOptions={fastRetry} />);
    act(() => {
      fake.stream(0).push(
        snapshot(1n, [0], {
          session: {
            metadata: runMetadata({
              hyperparameters: {
                learning_rate: { kind: { case: 'number', value: 0.00025 } },
                optimizer: { kind: { case: 'text', value: 'adamw' } },
                epochs: { kind: { case: 'number', value: 30 } },
                augment: { kind: { case: 'flag', value: true } },
              },
              tags: ['baseline'],
            }),
          },
        }),
      );
    });
    const values = async () =>
      Object.fromEntries(
        (await screen.findAllByTestId('hyperparameter')).map((row) => [
          row.getAttribute('data-name'),
          row.querySelector('dd')?.textContent,
        ]),
      );
    expect(await values()).toEqual({
      augment: 'true',
      epochs: '30',
      learning_rate: '2.50e-4',
      optimizer: 'adamw',
    });
    expect(screen.getAllByTestId('run-tag').map((tag) => tag.textContent)).toEqual(['baseline']);
    expect(screen.queryByTestId('run-note')).toBeNull();

    act(() => {
      fake.stream(0).push(batch(2n, 1, 10, { lr: 0.1, 'train/acc': 0.5 }));
      fake.stream(0).push(scalarsEvent(3n, 1, { 'system/cpu_percent': 30 }));
      fake.stream(0).push(epochEvent(4n, 0, 0.5, 0.6, { 'val/loss': 0.7 }));
      fake.stream(0).push(
        metadataEvent(
          5n,
          runMetadata({
            hyperparameters: { learning_rate: { kind: { case: 'number', value: 0.1 } } },
            tags: ['baseline', 'sweep-3'],
            note: 'lr warm-up doubled',
          }),
        ),
      );
    });
    expect((await screen.findByTestId('run-note')).textContent).toBe('lr warm-up doubled');
    expect(await values()).toEqual({ learning_rate: '0.1' });
    expect(screen.getAllByTestId('run-tag').map((tag) => tag.textContent)).toEqual([
      'baseline',
      'sweep-3',
    ]);
    const panels = screen.getAllByTestId('series-panel');
    expect(panels.map((panel) => panel.getAttribute('data-series'))).toEqual([
      'loss',
      'lr',
      'train/acc',
      'val/loss',
      'system/cpu_percent',
    ]);
    act(() => setOnScreen(panels, true));
    expect(document.querySelectorAll('[data-testid="series-chart"]')).toHaveLength(5);
  });
});

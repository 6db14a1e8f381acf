import { Code, ConnectError } from '@connectrpc/connect';
import { ConnectionState, TrainingStatus } from '@trainwatch/proto';
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { FakeDashboard } from '../../../test/fake-dashboard';
import { summary } from '../../../test/fixtures';
import { renderWithServer } from '../../../test/render';
import { RUN_ROW_HEIGHT_PX } from './runs-list';
import { SessionsPage } from './sessions-page';

describe('SessionsPage', () => {
  it('tells how to connect a trainer when there are no sessions', async () => {
    const fake = new FakeDashboard();
    renderWithServer(fake, <SessionsPage pollIntervalMs={20} />);
    const empty = await screen.findByTestId('empty-state');
    expect(empty.textContent).toContain('npm run demo');
    expect(empty.textContent).toContain('@trainwatch/trainer-sdk');
  });

  it('lists sessions newest first with status, model, progress and loss, and picks up new ones', async () => {
    const fake = new FakeDashboard();
    fake.sessions = [
      summary({
        sessionId: 'older',
        epoch: 1,
        batchIdx: 4,
        batchesReceived: 15n,
        latestLoss: 0.1234567,
      }),
    ];
    renderWithServer(fake, <SessionsPage pollIntervalMs={20} />);
    const row = await screen.findByText('older');
    const cells = within(row.closest('[role="row"]') as HTMLElement);
    expect(cells.getByTestId('status-badge').textContent).toBe('RUNNING');
    expect(cells.getByText('tiny-cnn')).toBeTruthy();
    expect(cells.getByText('epoch 2/3')).toBeTruthy();
    expect(cells.getByText('batch 5/10')).toBeTruthy();
    // 15 of 3 × 10 batches done.
    expect(cells.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('50');
    expect(cells.getByText('0.1235')).toBeTruthy();
    expect(row.getAttribute('href')).toBe('#/sessions/older');

    fake.sessions = [
      summary({ sessionId: 'newer', status: TrainingStatus.PAUSED }),
      ...fake.sessions,
    ];
    await screen.findByText('newer');
    const ids = screen.getAllByTestId('session-row').map((r) => r.getAttribute('data-session-id'));
    expect(ids).toEqual(['newer', 'older']);
  });

  it('says when the server cannot be reached and recovers by itself', async () => {
    const fake = new FakeDashboard();
    fake.listError = new ConnectError('connection refused', Code.Unavailable);
    renderWithServer(fake, <SessionsPage pollIntervalMs={20} />);
    expect((await screen.findByRole('alert')).textContent).toContain(
      'Cannot reach the server: connection refused',
    );
    fake.listError = undefined;
    fake.sessions = [summary()];
    await screen.findByText('run-1');
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('lists 1,000 runs as a scrolling list that asks for pages as they come into view', async () => {
    const fake = new FakeDashboard();
    fake.sessions = Array.from({ length: 1_000 }, (_, index) =>
      summary({ sessionId: `s${String(index).padStart(4, '0')}` }),
    );
    renderWithServer(fake, <SessionsPage pollIntervalMs={60_000} />);
    await screen.findByText('s0000');
    expect(screen.getByTestId('sessions-count').textContent).toContain('1000 runs');
    // Only the rows in view (and a few around them) exist; one page was asked for.
    expect(screen.getAllByTestId('session-row').length).toBeLessThan(40);
    expect(fake.listRequests).toEqual([{ pageSize: 100, pageToken: '' }]);
    fireEvent.click(
      within(screen.getByText('s0001').closest('[role="row"]')!).getByTestId('run-select'),
    );

    // Scroll to the end: the pages on the way are walked by token, the last one shown.
    const scroller = screen.getByTestId('runs-scroller');
    scroller.scrollTop = 1_000 * RUN_ROW_HEIGHT_PX;
    fireEvent.scroll(scroller);
    await screen.findByText('s0999', {}, { timeout: 5_000 });
    expect(screen.queryByText('s0000')).toBeNull();
    expect(fake.listRequests.map((request) => request.pageToken)).toEqual([
      '',
      '100',
      '200',
      '300',
      '400',
      '500',
      '600',
      '700',
      '800',
      '900',
    ]);
    // The selection made at the top holds; a second run picked at the end opens the compare view.
    fireEvent.click(
      within(screen.getByText('s0999').closest('[role="row"]')!).getByTestId('run-select'),
    );
    const href = screen.getByTestId('runs-compare').getAttribute('href') ?? '';
    expect(decodeURIComponent(href)).toContain('runs=s0001,s0999');

    // A search lists its matches from the top, the picked runs still picked.
    fireEvent.change(screen.getByTestId('runs-search'), { target: { value: 's09' } });
    await waitFor(() =>
      expect(screen.getByTestId('sessions-count').textContent).toContain('100 runs'),
    );
    expect(scroller.scrollTop).toBe(0);
    // The browser reports the scroll the list made (jsdom does not).
    fireEvent.scroll(scroller);
    await screen.findByText('s0900');
    expect(screen.getByTestId('runs-compare').textContent).toBe('Compare 2 runs');
  });

  it('badges a session with a refused second trainer or partial history, and names a closed trainer', async () => {
    const fake = new FakeDashboard();
    fake.sessions = [
      summary({
        sessionId: 'contested',
        writerConflict: {
          $typeName: 'telemetry.v1.WriterConflict',
          clientName: 'x',
          peer: 'p',
          lastRefusedAtMs: 1n,
          refusals: 2,
        },
        partialHistory: true,
        historyStartStep: 40n,
      }),
      summary({
        sessionId: 'done',
        status: TrainingStatus.COMPLETED,
        connection: ConnectionState.CLOSED,
      }),
    ];
    renderWithServer(fake, <SessionsPage pollIntervalMs={20} />);
    const contested = within(
      (await screen.findByText('contested')).closest('[role="row"]') as HTMLElement,
    );
    expect(contested.getByTestId('writer-conflict-badge').textContent).toBe(
      'second trainer refused',
    );
    expect(contested.getByTestId('partial-history-badge')).toBeTruthy();
    const done = within(screen.getByText('done').closest('[role="row"]') as HTMLElement);
    expect(done.getByTestId('connection-label').textContent).toBe('run ended, trainer closed');
    expect(done.queryByTestId('writer-conflict-badge')).toBeNull();
  });
});

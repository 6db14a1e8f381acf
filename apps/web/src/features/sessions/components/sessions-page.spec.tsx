import { Code, ConnectError } from '@connectrpc/connect';
import { ConnectionState, TrainingStatus } from '@trainwatch/proto';
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { FakeDashboard } from '../../../test/fake-dashboard';
import { summary } from '../../../test/fixtures';
import { renderWithServer } from '../../../test/render';
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
    const cells = within(row.closest('tr') as HTMLElement);
    expect(cells.getByTestId('status-badge').textContent).toBe('RUNNING');
    expect(cells.getByText('tiny-cnn')).toBeTruthy();
    expect(cells.getByText('epoch 2/3 · batch 5/10')).toBeTruthy();
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

  it('asks for one page at a time and shows more on request, within the bound', async () => {
    const fake = new FakeDashboard();
    fake.sessions = Array.from({ length: 5 }, (_, index) => summary({ sessionId: `s${index}` }));
    renderWithServer(fake, <SessionsPage pollIntervalMs={20} pageSize={2} />);
    await screen.findByText('s1');
    expect(screen.getAllByTestId('session-row')).toHaveLength(2);
    expect(screen.getByTestId('sessions-count').textContent).toContain('newest 2 of 5');
    expect(fake.listRequests[0]).toEqual({ pageSize: 2, pageToken: '' });
    fireEvent.click(screen.getByRole('button', { name: 'Show more' }));
    await screen.findByText('s3');
    expect(screen.getAllByTestId('session-row')).toHaveLength(4);
    // The second page came through the first page's token.
    expect(fake.listRequests).toContainEqual({ pageSize: 2, pageToken: '2' });
    fireEvent.click(screen.getByRole('button', { name: 'Show more' }));
    await screen.findByText('s4');
    await waitFor(() => expect(screen.queryByTestId('sessions-count')).toBeNull());
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
    const contested = within((await screen.findByText('contested')).closest('tr') as HTMLElement);
    expect(contested.getByTestId('writer-conflict-badge').textContent).toBe(
      'second trainer refused',
    );
    expect(contested.getByTestId('partial-history-badge')).toBeTruthy();
    const done = within(screen.getByText('done').closest('tr') as HTMLElement);
    expect(done.getByTestId('connection-label').textContent).toBe('run ended, trainer closed');
    expect(done.queryByTestId('writer-conflict-badge')).toBeNull();
  });
});

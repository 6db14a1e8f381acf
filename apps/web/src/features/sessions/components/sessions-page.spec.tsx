import { Code, ConnectError } from '@connectrpc/connect';
import { TrainingStatus } from '@trainwatch/proto';
import { screen, within } from '@testing-library/react';
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
});

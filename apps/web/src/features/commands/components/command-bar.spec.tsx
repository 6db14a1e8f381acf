import { create } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import {
  CommandState,
  CommandType,
  SendCommandResponseSchema,
  TrainingStatus,
  type SendCommandRequest,
  type SendCommandResponse,
} from '@trainwatch/proto';
import { fireEvent, screen } from '@testing-library/react';
import { FakeDashboard } from '../../../test/fake-dashboard';
import { auditEntry } from '../../../test/fixtures';
import { renderWithServer } from '../../../test/render';
import { CommandBar } from './command-bar';

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function succeeded(
  type: CommandType,
  status: TrainingStatus,
  message: string,
): SendCommandResponse {
  return create(SendCommandResponseSchema, {
    entry: { ...auditEntry('c1', type, CommandState.SUCCEEDED, 1), resultMessage: message },
    status,
  });
}

describe('CommandBar', () => {
  it('shows Pause as pending until the trainer answers, then the outcome', async () => {
    const fake = new FakeDashboard();
    const answer = deferred<SendCommandResponse>();
    const requests: SendCommandRequest[] = [];
    fake.onSendCommand = (request) => {
      requests.push(request);
      return answer.promise;
    };
    renderWithServer(fake, <CommandBar sessionId="run-1" status={TrainingStatus.RUNNING} />);
    expect((screen.getByTestId('command-resume') as HTMLButtonElement).disabled).toBe(true);
    fireEvent.click(screen.getByTestId('command-pause'));
    expect(screen.getByTestId('command-pause').textContent).toBe('Pausing…');
    expect((screen.getByTestId('command-stop') as HTMLButtonElement).disabled).toBe(true);
    await screen.findByText('Pausing…');
    expect(requests.map((r) => [r.sessionId, r.type, r.issuedBy])).toEqual([
      ['run-1', CommandType.PAUSE, 'dashboard'],
    ]);

    answer.resolve(succeeded(CommandType.PAUSE, TrainingStatus.PAUSED, 'paused at batch 7'));
    expect((await screen.findByTestId('command-outcome')).textContent).toBe(
      'Pause done: paused at batch 7',
    );
    expect(screen.getByTestId('command-pause').textContent).toBe('Pause');
  });

  it('asks before stopping, in the page, and sends nothing on cancel', async () => {
    const fake = new FakeDashboard();
    const sent: CommandType[] = [];
    fake.onSendCommand = (request) => {
      sent.push(request.type);
      return Promise.resolve(succeeded(CommandType.STOP, TrainingStatus.COMPLETED, 'stopped'));
    };
    renderWithServer(fake, <CommandBar sessionId="run-1" status={TrainingStatus.PAUSED} />);
    fireEvent.click(screen.getByTestId('command-stop'));
    expect(screen.getByTestId('confirm-dialog')).toBeTruthy();
    fireEvent.click(screen.getByText('Cancel'));
    expect(screen.queryByTestId('confirm-dialog')).toBeNull();
    expect(sent).toEqual([]);

    fireEvent.click(screen.getByTestId('command-stop'));
    fireEvent.click(screen.getByTestId('confirm-yes'));
    expect((await screen.findByTestId('command-outcome')).textContent).toBe('Stop done: stopped');
    expect(sent).toEqual([CommandType.STOP]);
  });

  it('puts server errors into words', async () => {
    const fake = new FakeDashboard();
    fake.onSendCommand = () =>
      Promise.reject(new ConnectError('trainer offline', Code.FailedPrecondition));
    renderWithServer(fake, <CommandBar sessionId="run-1" status={TrainingStatus.PAUSED} />);
    fireEvent.click(screen.getByTestId('command-resume'));
    const outcome = await screen.findByTestId('command-outcome');
    expect(outcome.textContent).toBe(
      'Resume failed: the trainer is not connected (trainer offline)',
    );
    expect(outcome.className).toContain('error');
  });

  it('reports a command the trainer could not apply', async () => {
    const fake = new FakeDashboard();
    fake.onSendCommand = () =>
      Promise.resolve(
        create(SendCommandResponseSchema, {
          entry: {
            ...auditEntry('c1', CommandType.PAUSE, CommandState.FAILED, 1),
            resultMessage: 'already paused',
          },
        }),
      );
    renderWithServer(fake, <CommandBar sessionId="run-1" status={TrainingStatus.RUNNING} />);
    fireEvent.click(screen.getByTestId('command-pause'));
    expect((await screen.findByTestId('command-outcome')).textContent).toBe(
      'Pause failed: already paused',
    );
  });
});

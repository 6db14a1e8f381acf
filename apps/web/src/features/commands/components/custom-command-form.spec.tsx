import { create } from '@bufbuild/protobuf';
import {
  CommandArgumentType,
  CommandAuditEntrySchema,
  CommandState,
  CommandType,
  CustomCommandSpecSchema,
  HyperparameterValueSchema,
  SendCommandResponseSchema,
  TrainingStatus,
  type SendCommandRequest,
  type SendCommandResponse,
} from '@trainwatch/proto';
import { fireEvent, render, screen } from '@testing-library/react';
import { FakeDashboard } from '../../../test/fake-dashboard';
import { renderWithServer } from '../../../test/render';
import { AuditLog } from './audit-log';
import { CommandBar } from './command-bar';

const SET_LR = create(CustomCommandSpecSchema, {
  name: 'set_lr',
  description: 'Learning rate from the next step',
  arguments: [
    { name: 'lr', type: CommandArgumentType.NUMBER, required: true },
    {
      name: 'note',
      type: CommandArgumentType.TEXT,
      defaultValue: { case: 'defaultText', value: 'manual' },
    },
    { name: 'warmup', type: CommandArgumentType.FLAG },
  ],
});
const SAVE = create(CustomCommandSpecSchema, { name: 'save_checkpoint' });
const number = (value: number) =>
  create(HyperparameterValueSchema, { kind: { case: 'number', value } });
const text = (value: string) =>
  create(HyperparameterValueSchema, { kind: { case: 'text', value } });
const flag = (value: boolean) =>
  create(HyperparameterValueSchema, { kind: { case: 'flag', value } });

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((res) => (resolve = res));
  return { promise, resolve };
}

function input(id: string): HTMLInputElement {
  return screen.getByTestId(id) as HTMLInputElement;
}

describe('custom command forms', () => {
  it('draws typed inputs with defaults and required marks, sends the arguments, shows pending then the result', async () => {
    const fake = new FakeDashboard();
    const answer = deferred<SendCommandResponse>();
    const requests: SendCommandRequest[] = [];
    fake.onSendCommand = (request) => {
      requests.push(request);
      return answer.promise;
    };
    renderWithServer(
      fake,
      <CommandBar
        sessionId="run-1"
        status={TrainingStatus.RUNNING}
        customCommands={[SET_LR, SAVE]}
      />,
    );
    expect(input('custom-set_lr-lr').type).toBe('number');
    expect(input('custom-set_lr-lr').getAttribute('aria-required')).toBe('true');
    expect(input('custom-set_lr-note').value).toBe('manual');
    expect(input('custom-set_lr-warmup').type).toBe('checkbox');
    expect(screen.getByTestId('custom-command-set_lr').textContent).toContain('lr*');

    fireEvent.change(input('custom-set_lr-lr'), { target: { value: '0.05' } });
    fireEvent.click(input('custom-set_lr-warmup'));
    fireEvent.click(screen.getByTestId('custom-send-set_lr'));
    await screen.findByText('Sending…');
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({
      sessionId: 'run-1',
      type: CommandType.CUSTOM,
      customName: 'set_lr',
      issuedBy: 'dashboard',
    });
    expect(requests[0]?.arguments).toEqual({
      lr: number(0.05),
      note: text('manual'),
      warmup: flag(true),
    });
    // One command at a time: every button waits, as it does for Pause.
    expect((screen.getByTestId('custom-send-save_checkpoint') as HTMLButtonElement).disabled).toBe(
      true,
    );
    expect((screen.getByTestId('command-pause') as HTMLButtonElement).disabled).toBe(true);

    answer.resolve(
      create(SendCommandResponseSchema, {
        entry: {
          commandId: 'c1',
          type: CommandType.CUSTOM,
          customName: 'set_lr',
          state: CommandState.SUCCEEDED,
          resultMessage: 'lr 0.05 from step 12',
        },
        status: TrainingStatus.RUNNING,
      }),
    );
    expect((await screen.findByTestId('command-outcome')).textContent).toBe(
      'set_lr done: lr 0.05 from step 12',
    );
    expect((screen.getByTestId('custom-send-set_lr') as HTMLButtonElement).disabled).toBe(false);
  });

  it('names a missing required argument and a non-number without sending', async () => {
    const fake = new FakeDashboard();
    const requests: SendCommandRequest[] = [];
    fake.onSendCommand = (request) => {
      requests.push(request);
      return new Promise(() => undefined);
    };
    renderWithServer(
      fake,
      <CommandBar sessionId="run-1" status={TrainingStatus.RUNNING} customCommands={[SET_LR]} />,
    );
    fireEvent.click(screen.getByTestId('custom-send-set_lr'));
    expect(screen.getByRole('alert').textContent).toBe('command set_lr: argument lr is required');
    fireEvent.change(input('custom-set_lr-lr'), { target: { value: '1e' } });
    fireEvent.click(screen.getByTestId('custom-send-set_lr'));
    // A good form afterwards is the only request the fake ever sees.
    fireEvent.change(input('custom-set_lr-lr'), { target: { value: '0.5' } });
    fireEvent.click(screen.getByTestId('custom-send-set_lr'));
    await screen.findByText('Sending…');
    expect(requests.map((request) => request.arguments['lr'])).toEqual([number(0.5)]);
  });

  it('takes no command from a run that has ended, like Pause and Resume', () => {
    renderWithServer(
      new FakeDashboard(),
      <CommandBar sessionId="run-1" status={TrainingStatus.COMPLETED} customCommands={[SAVE]} />,
    );
    expect((screen.getByTestId('custom-send-save_checkpoint') as HTMLButtonElement).disabled).toBe(
      true,
    );
  });

  it('the audit log shows the custom name and its arguments', () => {
    render(
      <AuditLog
        entries={[
          create(CommandAuditEntrySchema, {
            commandId: 'c1',
            type: CommandType.CUSTOM,
            customName: 'set_lr',
            arguments: { lr: number(0.05), note: text('manual') },
            issuedBy: 'alice',
            state: CommandState.SUCCEEDED,
            resultMessage: 'lr 0.05 from step 12',
          }),
        ]}
      />,
    );
    expect(screen.getByTestId('audit-command').textContent).toBe('set_lr(lr=0.05, note="manual")');
    expect(screen.getByTestId('audit-entry').textContent).toContain('lr 0.05 from step 12');
  });
});

import { CommandType, TrainingStatus, type CustomCommandSpec } from '@trainwatch/proto';
import { useState } from 'react';
import { usePermission } from '../../auth/hooks/use-auth';
import { useSendCommand } from '../hooks/use-send-command';
import { ConfirmDialog } from './confirm-dialog';
import { CustomCommandForm } from './custom-command-form';

const PENDING_TEXT: Record<CommandType, string> = {
  [CommandType.UNSPECIFIED]: 'Sending…',
  [CommandType.PAUSE]: 'Pausing…',
  [CommandType.RESUME]: 'Resuming…',
  [CommandType.STOP]: 'Stopping…',
  [CommandType.CUSTOM]: 'Sending…',
};

export interface CommandBarProps {
  sessionId: string;
  status: TrainingStatus | undefined;
  /** The custom commands the trainer offers: a form each. */
  customCommands?: readonly CustomCommandSpec[];
}

/**
 * Pause, Resume and Stop, and a form per custom command, each pending until
 * the trainer reports back; one command at a time. A role that may not send
 * commands sees every control disabled, with the reason.
 */
export function CommandBar({ sessionId, status, customCommands = [] }: CommandBarProps) {
  const { pending, pendingName, outcome, send } = useSendCommand(sessionId);
  const permission = usePermission('command');
  const refusal = permission.allowed ? undefined : permission.reason;
  const [confirmingStop, setConfirmingStop] = useState(false);
  const busy = pending !== undefined;
  const running = status === TrainingStatus.RUNNING || status === TrainingStatus.INITIALIZING;
  const paused = status === TrainingStatus.PAUSED;
  // The one rule every command control follows (buttons and custom command forms alike).
  const allowed = (enabled: boolean) => !busy && enabled && refusal === undefined;

  const button = (
    type: CommandType,
    label: string,
    enabled: boolean,
    onClick: () => void,
    className = '',
  ) => (
    <button
      type="button"
      className={className}
      data-testid={`command-${label.toLowerCase()}`}
      disabled={!allowed(enabled)}
      title={refusal}
      aria-busy={pending === type}
      onClick={onClick}
    >
      {pending === type ? PENDING_TEXT[type] : label}
    </button>
  );

  return (
    <section className="command-bar" aria-label="Commands">
      {button(CommandType.PAUSE, 'Pause', running, () => void send(CommandType.PAUSE))}
      {button(CommandType.RESUME, 'Resume', paused, () => void send(CommandType.RESUME))}
      {button(CommandType.STOP, 'Stop', running || paused, () => setConfirmingStop(true), 'danger')}
      {refusal && (
        <span className="small muted" data-testid="command-permission">
          {refusal}
        </span>
      )}
      {outcome && (
        <span
          className={outcome.ok ? 'outcome ok' : 'outcome error'}
          role="status"
          data-testid="command-outcome"
        >
          {outcome.text}
        </span>
      )}
      {customCommands.length > 0 && (
        <div className="custom-commands" data-testid="custom-commands">
          {customCommands.map((spec) => (
            <CustomCommandForm
              key={spec.name}
              spec={spec}
              enabled={allowed(running || paused)}
              pending={pending === CommandType.CUSTOM && pendingName === spec.name}
              onSend={(args) => void send(CommandType.CUSTOM, { name: spec.name, arguments: args })}
            />
          ))}
        </div>
      )}
      {confirmingStop && (
        <ConfirmDialog
          title="Stop this run?"
          message="The trainer finishes the current batch and ends the run. It cannot be resumed."
          confirmLabel="Stop run"
          onCancel={() => setConfirmingStop(false)}
          onConfirm={() => {
            setConfirmingStop(false);
            void send(CommandType.STOP);
          }}
        />
      )}
    </section>
  );
}

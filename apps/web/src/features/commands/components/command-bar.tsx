import { CommandType, TrainingStatus } from '@trainwatch/proto';
import { useState } from 'react';
import { usePermission } from '../../auth/hooks/use-auth';
import { useSendCommand } from '../hooks/use-send-command';
import { ConfirmDialog } from './confirm-dialog';

const PENDING_TEXT: Record<CommandType, string> = {
  [CommandType.UNSPECIFIED]: 'Sending…',
  [CommandType.PAUSE]: 'Pausing…',
  [CommandType.RESUME]: 'Resuming…',
  [CommandType.STOP]: 'Stopping…',
};

export interface CommandBarProps {
  sessionId: string;
  status: TrainingStatus | undefined;
}

/** Pause, Resume and Stop, each pending until the trainer reports back. */
export function CommandBar({ sessionId, status }: CommandBarProps) {
  const { pending, outcome, send } = useSendCommand(sessionId);
  const permission = usePermission('command');
  const refusal = permission.allowed ? undefined : permission.reason;
  const [confirmingStop, setConfirmingStop] = useState(false);
  const busy = pending !== undefined;
  const running = status === TrainingStatus.RUNNING || status === TrainingStatus.INITIALIZING;
  const paused = status === TrainingStatus.PAUSED;

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
      disabled={busy || !enabled || refusal !== undefined}
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

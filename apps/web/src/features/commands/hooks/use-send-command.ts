import { Code, ConnectError } from '@connectrpc/connect';
import { CommandState, CommandType, type HyperparameterValue } from '@trainwatch/proto';
import { useCallback, useEffect, useRef, useState } from 'react';
import { commandLabel, commandStateLabel } from '../../../common/format';
import { useDashboardClient } from '../../../common/transport-context';
import { describeAccessError } from '../../auth/permissions';

/** What the person sees after a command settles. */
export interface CommandOutcome {
  type: CommandType;
  ok: boolean;
  text: string;
}

/** Which custom command to run, with its arguments (left-out ones take their defaults). */
export interface CustomCommandRequest {
  name: string;
  arguments: Record<string, HyperparameterValue>;
}

export interface SendCommandState {
  /** The command waiting for the trainer's answer, if any. */
  pending?: CommandType;
  /** The custom command's name while `pending` is CUSTOM. */
  pendingName?: string;
  outcome?: CommandOutcome;
  send: (type: CommandType, custom?: CustomCommandRequest) => Promise<void>;
}

/** The name of the identity shown in the audit log for commands from this page. */
export const DASHBOARD_ISSUER = 'dashboard';

/** A ConnectError in words a person can act on. */
export function describeCommandError(error: unknown): string {
  const access = describeAccessError(error);
  if (access !== undefined) return access;
  const connectError = ConnectError.from(error);
  const detail = connectError.rawMessage ? ` (${connectError.rawMessage})` : '';
  switch (connectError.code) {
    case Code.FailedPrecondition:
      return `the trainer is not connected${detail}`;
    case Code.DeadlineExceeded:
      return `the trainer did not answer in time${detail}`;
    case Code.NotFound:
      return `the server no longer knows this session${detail}`;
    case Code.Unavailable:
      return `the server cannot be reached${detail}`;
    case Code.InvalidArgument:
      return `the server rejected the command${detail}`;
    default:
      return connectError.rawMessage || Code[connectError.code];
  }
}

/**
 * Sends Pause/Resume/Stop or a custom command (unary SendCommand, which resolves only when the
 * trainer reports the result) and keeps the pending state and outcome.
 */
export function useSendCommand(sessionId: string): SendCommandState {
  const client = useDashboardClient();
  const [pending, setPending] = useState<CommandType>();
  const [pendingName, setPendingName] = useState<string>();
  const [outcome, setOutcome] = useState<CommandOutcome>();
  const abort = useRef<AbortController | undefined>(undefined);

  useEffect(() => () => abort.current?.abort(), []);

  const send = useCallback(
    async (type: CommandType, custom?: CustomCommandRequest): Promise<void> => {
      const controller = new AbortController();
      abort.current = controller;
      setPending(type);
      setPendingName(custom?.name);
      setOutcome(undefined);
      const name = custom?.name ?? commandLabel(type);
      try {
        const response = await client.sendCommand(
          {
            sessionId,
            type,
            issuedBy: DASHBOARD_ISSUER,
            customName: custom?.name ?? '',
            arguments: custom?.arguments ?? {},
          },
          { signal: controller.signal },
        );
        if (controller.signal.aborted) return;
        const entry = response.entry;
        const ok = entry?.state === CommandState.SUCCEEDED;
        const trainerSays = entry?.resultMessage ? `: ${entry.resultMessage}` : '';
        setOutcome({
          type,
          ok,
          text: ok
            ? `${name} done${trainerSays}`
            : `${name} ${entry ? commandStateLabel(entry.state) : 'failed'}${trainerSays}`,
        });
      } catch (error) {
        if (controller.signal.aborted) return;
        setOutcome({ type, ok: false, text: `${name} failed: ${describeCommandError(error)}` });
      } finally {
        if (!controller.signal.aborted) {
          setPending(undefined);
          setPendingName(undefined);
        }
      }
    },
    [client, sessionId],
  );

  return { pending, pendingName, outcome, send };
}

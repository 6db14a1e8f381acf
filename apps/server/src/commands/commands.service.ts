import { randomUUID } from 'node:crypto';
import { clone, create } from '@bufbuild/protobuf';
import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import {
  CommandAuditEntrySchema,
  CommandState,
  CommandType,
  MetricsResponseSchema,
  SendCommandResponseSchema,
  type CommandAuditEntry,
  type CommandResult,
  type HyperparameterValue,
  type SendCommandRequest,
  type SendCommandResponse,
  TrainingStatus,
  resolveCustomArguments,
} from '@trainwatch/proto';
import { errors } from '../common/app-error';
import {
  MAX_COMMAND_REASON_LENGTH,
  MAX_ISSUED_BY_LENGTH,
  MAX_PENDING_COMMANDS,
  MAX_STATUS_MESSAGE_LENGTH,
  SETTLED_BY_STATUS_REMEMBERED,
} from '../common/limits';
import { SERVER_SETTINGS } from '../config/config.module';
import type { ServerSettings } from '../config/server-config';
import { SessionEventBus } from '../events/event-bus';
import { MetricsService } from '../metrics/metrics.service';
import type { Session } from '../sessions/session';
import { SessionsService } from '../sessions/sessions.service';

/**
 * Timed-out commands remembered per session, newest kept, so a trainer that
 * answers after the dashboard stopped waiting (it was frozen, or the link
 * stalled) still gets its result recorded instead of UNKNOWN_COMMAND.
 */
export const LATE_RESULTS_REMEMBERED_PER_SESSION = 64;

/** Audit text for a command the trainer dropped because it arrived after its deadline. */
export const EXPIRED_MESSAGE = 'the trainer received it after its deadline and did not apply it';

interface Pending {
  session: Session;
  entry: CommandAuditEntry;
  resolve: (response: SendCommandResponse) => void;
  timer: NodeJS.Timeout;
}

const KNOWN_TYPES = new Set([
  CommandType.PAUSE,
  CommandType.RESUME,
  CommandType.STOP,
  CommandType.CUSTOM,
]);

/**
 * Routes dashboard commands to the trainer's stream with a fresh id and
 * resolves with the result the trainer reports. Every step lands in the
 * session's audit log and is pushed to watchers.
 */
@Injectable()
export class CommandsService implements OnModuleDestroy {
  private readonly pending = new Map<string, Pending>();
  /** Per session, timed-out audit entries by command id (oldest first); a deleted session takes its own with it. */
  private readonly timedOut = new WeakMap<Session, Map<string, CommandAuditEntry>>();

  constructor(
    @Inject(SERVER_SETTINGS) private readonly settings: ServerSettings,
    private readonly sessions: SessionsService,
    private readonly bus: SessionEventBus,
    private readonly metrics: MetricsService,
  ) {}

  onModuleDestroy(): void {
    for (const pending of this.pending.values()) clearTimeout(pending.timer);
    this.pending.clear();
  }

  /**
   * `verifiedIssuer`: the signed-in user the server authenticated (AUTH=required);
   * it replaces the client's issued_by in the audit.
   */
  async send(request: SendCommandRequest, verifiedIssuer = ''): Promise<SendCommandResponse> {
    if (!KNOWN_TYPES.has(request.type)) {
      throw errors.invalidArgument(
        `command type ${request.type} is not PAUSE, RESUME, STOP or CUSTOM`,
      );
    }
    if (request.type !== CommandType.CUSTOM && request.customName !== '') {
      throw errors.invalidArgument('custom_name is only for COMMAND_TYPE_CUSTOM');
    }
    if (request.issuedBy.length > MAX_ISSUED_BY_LENGTH) {
      throw errors.invalidArgument(`issued_by is longer than ${MAX_ISSUED_BY_LENGTH} characters`);
    }
    if (request.timeoutMs < 0) throw errors.invalidArgument('timeout_ms must be >= 0');
    if (request.reason.length > MAX_COMMAND_REASON_LENGTH) {
      throw errors.invalidArgument(`reason is longer than ${MAX_COMMAND_REASON_LENGTH} characters`);
    }
    const session = this.sessions.get(request.sessionId);
    // Checked before the trainer is asked: a bad form never reaches the training loop.
    const custom =
      request.type === CommandType.CUSTOM ? customCommand(session, request) : undefined;
    const trainer = session.trainer;
    if (trainer === undefined) {
      throw errors.failedPrecondition(`the trainer of session ${session.id} is not connected`);
    }
    const inFlight = [...this.pending.values()].filter(
      (pending) => pending.session === session,
    ).length;
    if (inFlight >= MAX_PENDING_COMMANDS) {
      throw errors.resourceExhausted(
        `session ${session.id} already has ${MAX_PENDING_COMMANDS} commands awaiting a result`,
      );
    }
    const now = Date.now();
    const entry = create(CommandAuditEntrySchema, {
      commandId: randomUUID(),
      type: request.type,
      issuedBy: verifiedIssuer || request.issuedBy || 'dashboard',
      issuedByVerified: verifiedIssuer !== '',
      issuedAtMs: BigInt(now),
      reason: request.reason,
      state: CommandState.PENDING,
      customName: custom?.name ?? '',
      arguments: custom?.arguments ?? {},
    });
    this.record(session, entry);
    const timeoutMs = request.timeoutMs > 0 ? request.timeoutMs : this.settings.commandTimeoutMs;
    // The trainer must not act on the command once the dashboard has been told it timed out.
    const expiresAtMs = BigInt(now + timeoutMs);
    const result = new Promise<SendCommandResponse>((resolve) => {
      const timer = setTimeout(() => this.timeOut(entry.commandId), timeoutMs);
      this.pending.set(entry.commandId, { session, entry, resolve, timer });
    });
    trainer.send(
      create(MetricsResponseSchema, {
        sessionId: session.id,
        timestampMs: BigInt(now),
        payload: {
          case: 'command',
          value: {
            type: entry.type,
            commandId: entry.commandId,
            issuedBy: entry.issuedBy,
            issuedAtMs: entry.issuedAtMs,
            expiresAtMs,
            reason: entry.reason,
            customName: entry.customName,
            arguments: entry.arguments,
          },
        },
      }),
    );
    const response = await result;
    if (response.entry?.state === CommandState.TIMED_OUT) {
      throw errors.deadlineExceeded(
        `the trainer of session ${session.id} did not answer within ${timeoutMs} ms`,
      );
    }
    if (response.entry?.state === CommandState.EXPIRED) {
      throw errors.deadlineExceeded(
        `the trainer of session ${session.id} received the command after its ${timeoutMs} ms deadline and did not apply it`,
      );
    }
    return response;
  }

  /**
   * True when `result` answers a command of this session that still takes a
   * result: pending, completed by a status report, or timed out recently.
   */
  accepts(session: Session, result: CommandResult): boolean {
    return (
      this.pending.get(result.commandId)?.session === session ||
      this.settledByStatus.get(result.commandId) === session ||
      this.timedOut.get(session)?.has(result.commandId) === true
    );
  }

  /**
   * Applies a trainer's CommandResult, also one that arrives after the
   * command timed out; false when the id names no pending or recently
   * timed-out command of this session.
   */
  complete(session: Session, result: CommandResult): boolean {
    const pending = this.pending.get(result.commandId);
    if (pending === undefined || pending.session !== session)
      return this.completeLate(session, result);
    this.pending.delete(result.commandId);
    clearTimeout(pending.timer);
    const entry = this.finish(
      pending.session,
      pending.entry,
      result.expired
        ? CommandState.EXPIRED
        : result.success
          ? CommandState.SUCCEEDED
          : CommandState.FAILED,
      result.expired ? EXPIRED_MESSAGE : result.message,
    );
    pending.resolve(create(SendCommandResponseSchema, { entry, status: result.status }));
    return true;
  }

  /** A result for a command the dashboard already saw time out: the audit gets the truth. */
  private completeLate(session: Session, result: CommandResult): boolean {
    const late = this.timedOut.get(session);
    const timedOutEntry = late?.get(result.commandId);
    if (late === undefined || timedOutEntry === undefined) return false;
    late.delete(result.commandId);
    if (result.expired) {
      this.finish(session, timedOutEntry, CommandState.EXPIRED, EXPIRED_MESSAGE, false);
      return true;
    }
    const outcome = result.success ? 'applied' : 'answered';
    this.finish(
      session,
      timedOutEntry,
      result.success ? CommandState.SUCCEEDED : CommandState.FAILED,
      `${outcome} after the dashboard stopped waiting: ${result.message}`,
      false,
    );
    // The session's status follows result.status where ingest applies the result.
    return true;
  }

  // --- Completion by reported status -------------------------------------
  // A trainer that never answers commands (or answers after its own
  // StatusUpdate) still reaches the state a command asked for; reaching it
  // completes the command. The trainer's own result for such a command,
  // when it does come, updates the audit instead of being UNKNOWN_COMMAND.

  /** Commands completed by a status report, awaiting the trainer's own result (oldest first). */
  private readonly settledByStatus = new Map<string, Session>();

  /** Completes this session's pending commands whose target state is `status`. */
  completeByStatus(session: Session, status: TrainingStatus): void {
    for (const [commandId, pending] of [...this.pending]) {
      if (pending.session !== session || !commandReaches(pending.entry.type, status)) continue;
      this.pending.delete(commandId);
      clearTimeout(pending.timer);
      const state = status === TrainingStatus.FAILED ? CommandState.FAILED : CommandState.SUCCEEDED;
      const entry = this.finish(
        pending.session,
        pending.entry,
        state,
        `the trainer reported ${TrainingStatus[status]}`,
      );
      pending.resolve(create(SendCommandResponseSchema, { entry, status }));
      this.settledByStatus.set(commandId, session);
      if (this.settledByStatus.size > SETTLED_BY_STATUS_REMEMBERED) {
        this.settledByStatus.delete(this.settledByStatus.keys().next().value as string);
      }
    }
  }

  /** Applies a late CommandResult for a command completed by status; false when there is none. */
  confirmSettledByStatus(session: Session, result: CommandResult): boolean {
    if (this.settledByStatus.get(result.commandId) !== session) return false;
    this.settledByStatus.delete(result.commandId);
    const recorded = session.commands.find((entry) => entry.commandId === result.commandId);
    if (recorded === undefined) return true;
    const entry = clone(CommandAuditEntrySchema, recorded);
    entry.state = result.success ? CommandState.SUCCEEDED : CommandState.FAILED;
    entry.resultMessage = result.message.slice(0, MAX_STATUS_MESSAGE_LENGTH);
    this.record(session, entry);
    return true;
  }
  // ------------------------------------------------------------------------

  private timeOut(commandId: string): void {
    const pending = this.pending.get(commandId);
    if (pending === undefined) return;
    this.pending.delete(commandId);
    const entry = this.finish(
      pending.session,
      pending.entry,
      CommandState.TIMED_OUT,
      'the trainer did not answer in time',
    );
    this.rememberTimedOut(pending.session, entry);
    pending.resolve(create(SendCommandResponseSchema, { entry, status: pending.session.status }));
  }

  private rememberTimedOut(session: Session, entry: CommandAuditEntry): void {
    let late = this.timedOut.get(session);
    if (late === undefined) {
      late = new Map();
      this.timedOut.set(session, late);
    }
    late.set(entry.commandId, entry);
    if (late.size > LATE_RESULTS_REMEMBERED_PER_SESSION) {
      late.delete(late.keys().next().value as string);
    }
  }

  /**
   * Records the command's new state. `observe` is false for a late result:
   * the command was already counted (and timed) when it timed out.
   */
  private finish(
    session: Session,
    issued: CommandAuditEntry,
    state: CommandState,
    message: string,
    observe = true,
  ): CommandAuditEntry {
    const now = Date.now();
    const entry = clone(CommandAuditEntrySchema, issued);
    entry.state = state;
    entry.resultMessage = message.slice(0, MAX_STATUS_MESSAGE_LENGTH);
    entry.completedAtMs = BigInt(now);
    this.record(session, entry);
    if (observe) this.metrics.observeCommand(CommandState[state], now - Number(issued.issuedAtMs));
    return entry;
  }

  private record(session: Session, entry: CommandAuditEntry): void {
    session.recordCommand(entry);
    void this.bus.emit('command.recorded', { session, entry });
  }
}

/**
 * The advertised command a CUSTOM request names, with its arguments checked
 * and defaults filled in; INVALID_ARGUMENT naming what does not match.
 */
function customCommand(
  session: Session,
  request: SendCommandRequest,
): { name: string; arguments: Record<string, HyperparameterValue> } {
  const spec = session.customCommands.find((command) => command.name === request.customName);
  if (spec === undefined) {
    const offered = session.customCommands.map((command) => command.name).join(', ');
    const name = JSON.stringify(request.customName.slice(0, 80));
    throw errors.invalidArgument(
      offered === ''
        ? `the trainer of session ${session.id} offers no custom commands (asked for ${name})`
        : `the trainer of session ${session.id} offers no command ${name} (it offers: ${offered})`,
    );
  }
  const resolved = resolveCustomArguments(spec, request.arguments);
  if (resolved.problem !== undefined) throw errors.invalidArgument(resolved.problem);
  return { name: spec.name, arguments: resolved.arguments };
}

/** True when a trainer in `status` has done what a command of `type` asked. */
function commandReaches(type: CommandType, status: TrainingStatus): boolean {
  switch (type) {
    case CommandType.PAUSE:
      return status === TrainingStatus.PAUSED;
    case CommandType.RESUME:
      return status === TrainingStatus.RUNNING;
    case CommandType.STOP:
      return status === TrainingStatus.COMPLETED || status === TrainingStatus.FAILED;
    default:
      return false;
  }
}

import { CommandType, TrainingStatus, type ControlCommand } from '@trainwatch/proto';
import type { CommandGate } from './command-gate';
import { CustomCommands } from './custom-commands';
import type { CommandHandler, SessionError } from './types';

/** Command ids remembered so a command delivered twice is answered once. */
export const ANSWERED_COMMANDS_BOUND = 256;

/** The answer to one command, as CommandResult carries it. */
export interface CommandOutcome {
  commandId: string;
  success: boolean;
  message: string;
  status: TrainingStatus;
  /** True when the command arrived after its deadline and was not applied. */
  expired: boolean;
}

/**
 * True when `command` carries a deadline that has passed. The deadline is the
 * server's clock and `nowMs` the trainer's: this assumes the two are kept in
 * step (NTP), to well within the command timeout (10 s by default). A trainer
 * clock that runs behind accepts late commands for that much longer; one that
 * runs ahead expires them early.
 */
export function commandExpired(command: ControlCommand, nowMs: number): boolean {
  return command.expiresAtMs > 0n && BigInt(nowMs) > command.expiresAtMs;
}

/** What the dispatcher needs from its session. */
export interface CommandDispatcherHooks {
  status(): TrainingStatus;
  /** A new command arrived (duplicates are not announced). */
  received(command: ControlCommand): void;
  /** A command reached its turn after its deadline; it was answered as expired, not applied. */
  expired(command: ControlCommand, message: string): void;
  setStatus(status: TrainingStatus, message: string): void;
  /** Sends the one CommandResult for a command. */
  answer(outcome: CommandOutcome): void;
  report(error: SessionError): void;
}

/**
 * Runs user handlers and the built-in gate for each ControlCommand, one
 * command at a time in arrival order (so a slow PAUSE handler cannot let a
 * later RESUME overtake it), and answers each command id exactly once.
 */
export class CommandDispatcher {
  private readonly handlers = new Map<CommandType, CommandHandler[]>();
  private readonly answered = new Set<string>();
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly gate: CommandGate,
    private readonly hooks: CommandDispatcherHooks,
    /** Handlers of COMMAND_TYPE_CUSTOM by name (TrainingSession.onCommand with a name). */
    readonly custom = new CustomCommands(),
  ) {}

  /** Adds a handler for one command type; returns a function that removes it. */
  add(type: CommandType, handler: CommandHandler): () => void {
    const list = this.handlers.get(type) ?? [];
    list.push(handler);
    this.handlers.set(type, list);
    return () => {
      const index = list.indexOf(handler);
      if (index >= 0) list.splice(index, 1);
    };
  }

  /**
   * Queues a command; resolves once it has been answered. Returns false
   * without doing anything for a command id already answered.
   */
  dispatch(command: ControlCommand): Promise<boolean> {
    if (this.answered.has(command.commandId)) return Promise.resolve(false);
    this.answered.add(command.commandId);
    if (this.answered.size > ANSWERED_COMMANDS_BOUND) {
      this.answered.delete(this.answered.values().next().value as string);
    }
    this.hooks.received(command);
    const done = this.queue.then(() => this.run(command));
    this.queue = done;
    return done.then(() => true);
  }

  private async run(command: ControlCommand): Promise<void> {
    // Checked when its turn comes, not on arrival: one queued behind a slow
    // handler may pass its deadline while it waits.
    const now = Date.now();
    if (commandExpired(command, now)) {
      const late = now - Number(command.expiresAtMs);
      const message = `not applied: received ${late} ms after its deadline (the dashboard had stopped waiting)`;
      this.hooks.expired(command, message);
      this.hooks.answer({
        commandId: command.commandId,
        success: false,
        message,
        status: this.hooks.status(),
        expired: true,
      });
      return;
    }
    let success = true;
    let message = '';
    try {
      for (const handler of [...(this.handlers.get(command.type) ?? [])]) {
        const result = await handler(command);
        if (result && result.success === false) success = false;
        if (result && result.message) message = result.message;
      }
      // A custom command runs in the same queue, so it is ordered with pause and stop.
      if (success && command.type === CommandType.CUSTOM) {
        ({ success, message } = await this.custom.run(command));
      }
    } catch (cause) {
      success = false;
      message = `handler failed: ${cause instanceof Error ? cause.message : String(cause)}`;
      this.hooks.report({ kind: 'command-handler', command, message, cause });
    }
    if (success) ({ success, message } = this.applyToGate(command, message));
    this.hooks.answer({
      commandId: command.commandId,
      success,
      message,
      status: this.hooks.status(),
      expired: false,
    });
  }

  /** The built-in gate's part of a command, with the matching StatusUpdate. */
  private applyToGate(
    command: ControlCommand,
    message: string,
  ): { success: boolean; message: string } {
    const by = command.issuedBy || 'dashboard';
    switch (command.type) {
      case CommandType.PAUSE:
        if (!this.gate.pause()) return { success: false, message: message || 'not running' };
        this.hooks.setStatus(TrainingStatus.PAUSED, `paused by ${by}`);
        return { success: true, message: message || 'paused before the next batch' };
      case CommandType.RESUME:
        if (!this.gate.resume()) return { success: false, message: message || 'not paused' };
        this.hooks.setStatus(TrainingStatus.RUNNING, `resumed by ${by}`);
        return { success: true, message: message || 'resumed' };
      case CommandType.STOP:
        if (!this.gate.stop()) return { success: false, message: message || 'already stopping' };
        if (this.hooks.status() === TrainingStatus.PAUSED) {
          this.hooks.setStatus(TrainingStatus.RUNNING, `stopping (by ${by})`);
        }
        return { success: true, message: message || 'stopping: the loop ends at its next gate' };
      case CommandType.CUSTOM:
        // The named handler already ran; a custom command does not move the gate.
        return { success: true, message };
      case CommandType.UNSPECIFIED:
        break;
    }
    // UNSPECIFIED, or a kind newer than this SDK.
    return { success: false, message: `unknown command type ${String(command.type)}` };
  }
}

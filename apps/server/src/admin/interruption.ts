/** Signals that end a backup half-way (Ctrl-C, `kill`, a service manager stopping it). */
const INTERRUPTING_SIGNALS = ['SIGINT', 'SIGTERM'] as const;
/** Exit codes as a shell reports a process ended by the signal (128 + its number). */
const EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;

/** What `until` throws once the process was told to stop. */
export class Interrupted extends Error {
  readonly exitCode: 130 | 143;
  constructor(readonly signal: (typeof INTERRUPTING_SIGNALS)[number]) {
    super(`interrupted (${signal})`);
    this.exitCode = EXIT_CODES[signal];
  }
}

/** Listens for SIGINT and SIGTERM until `stop`, so a step can end early and clean up after itself. */
export interface Interruption {
  /**
   * `step`, or Interrupted as soon as a signal came (the step itself goes on
   * until it ends: `settled` waits for that).
   */
  until<T>(step: Promise<T>): Promise<T>;
  /** Every step passed to `until` has ended (whatever its outcome). */
  settled(): Promise<void>;
  stop(): void;
}

/**
 * Takes SIGINT and SIGTERM over from Node's default (ending the process at
 * once, leaving what was written) while a command has something to undo.
 */
export function watchInterruption(onSignal: (signal: string) => void): Interruption {
  let interrupted: Interrupted | undefined;
  let reject: (error: Interrupted) => void = () => undefined;
  const signalled = new Promise<never>((_, rejectWith) => (reject = rejectWith));
  // Never unhandled: only `until` reports it.
  signalled.catch(() => undefined);
  const steps: Promise<unknown>[] = [];
  const handlers = INTERRUPTING_SIGNALS.map((signal) => {
    const handler = () => {
      if (interrupted !== undefined) return;
      interrupted = new Interrupted(signal);
      onSignal(signal);
      reject(interrupted);
    };
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  return {
    until: (step) => {
      steps.push(step);
      if (interrupted !== undefined) return Promise.reject(interrupted);
      return Promise.race([step, signalled]);
    },
    settled: async () => {
      await Promise.allSettled(steps);
    },
    stop: () => {
      for (const [signal, handler] of handlers) process.off(signal, handler);
    },
  };
}

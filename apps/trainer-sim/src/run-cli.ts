import { parseSimArgs, USAGE, UsageError, type SimOptions } from './args';
import { simulateRun } from './simulate-run';

/** Runs every requested session; resolves with the process exit code. */
export async function runCli(argv: string[]): Promise<number> {
  let options: SimOptions;
  try {
    const parsed = parseSimArgs(argv);
    if (parsed.kind === 'help') {
      console.log(USAGE);
      return 0;
    }
    options = parsed.options;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`trainer-sim: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  const print = (line: string) => console.log(line);
  if (!options.quiet) {
    console.log(
      `trainer-sim: ${options.sessions} run(s), ${options.epochs} epochs x ${options.batches} batches at ${options.fps} batches/s, ${options.images} images of ${options.imageSize}px, seed ${options.seed}`,
    );
  }
  // First Ctrl-C/SIGTERM: every run stops at its next batch and reports it; a second one quits at once.
  const interrupt = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupt.signal.aborted) process.exit(130);
    console.log(`trainer-sim: ${signal}: stopping (again to quit at once)`);
    interrupt.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const outcomes = await Promise.allSettled(
    Array.from({ length: options.sessions }, (_, index) =>
      simulateRun(options, index, print, interrupt.signal),
    ),
  );
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  let failed = 0;
  for (const outcome of outcomes) {
    if (outcome.status === 'rejected') {
      failed++;
      console.error(`trainer-sim: run failed: ${String(outcome.reason)}`);
    } else {
      const run = outcome.value;
      console.log(
        `trainer-sim: ${run.sessionId} ${run.result} after ${run.batches} batches (loss ${run.finalLoss.toFixed(4)}, accuracy ${(run.finalAccuracy * 100).toFixed(1)}%)`,
      );
      if (run.unacknowledged > 0) {
        failed++;
        console.error(
          `trainer-sim: ${run.sessionId}: the server did not acknowledge ${run.unacknowledged} messages`,
        );
      }
    }
  }
  return failed > 0 ? 1 : 0;
}

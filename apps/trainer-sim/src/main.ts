// Entry point of `node dist/apps/trainer-sim/main.js`: runs the CLI and exits
// with its code (pending timers of a stopped run must not keep Node alive).
import { runCli } from './run-cli';

runCli(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(
      `trainer-sim: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
    process.exit(1);
  },
);

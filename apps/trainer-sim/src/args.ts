import { parseArgs } from 'node:util';

/** Settings of one trainer-sim invocation. */
export interface SimOptions {
  /** host:port of the server's gRPC listener. */
  server: string;
  /** Simulated runs streaming at once. */
  sessions: number;
  /** Batches per second, per session. */
  fps: number;
  /** Sample images per batch (0 for none). */
  images: number;
  epochs: number;
  batches: number;
  /** Side of the square synthetic images, pixels. */
  imageSize: number;
  /** Name shown on the dashboard and prefix of the session ids. */
  name: string;
  /** Seed of every random choice, so a run can be repeated. */
  seed: number;
  /** Print only errors and the final line. */
  quiet: boolean;
  /** From this global step on the loss is NaN (a diverged run, for the watchdog); undefined: never. */
  nanAtStep?: number;
  /** At this global step the run stops sending batches until stopped (a hung loader); undefined: never. */
  stallAtStep?: number;
}

/** What the command line asks for. */
export type ParsedArgs = { kind: 'help' } | { kind: 'run'; options: SimOptions };

/** A bad command line; the message names the flag and what it expects. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** `--help` text. */
export const USAGE = `Usage: node dist/apps/trainer-sim/main.js [options]

Simulates a CIFAR-10 training run (or several) streaming to a trainwatch server.
It trains nothing, but its loss, accuracy, sample images and predictions behave
like a real run's, and it obeys pause, resume and stop from the dashboard.

Options:
  --server <host:port>   gRPC address of the server        (default 127.0.0.1:50051)
  --sessions <n>         simulated runs in parallel, 1-64   (default 1)
  --fps <n>              batches per second per run, >0     (default 10)
  --images <n>           sample images per batch, 0-64      (default 16)
  --epochs <n>           epochs per run, >=1                (default 10)
  --batches <n>          batches per epoch, >=1             (default 100)
  --image-size <px>      side of the sample images, 8-512   (default 32)
  --name <text>          run name and session id prefix     (default trainer-sim)
  --seed <n>             random seed                        (default: from the clock)
  --nan-at-step <n>      from this step on the loss is NaN  (default: never)
  --stall-at-step <n>    stop sending batches at this step  (default: never)
  --quiet                print only errors and the summary
  --help                 show this text

Exits 0 when every run finished or was stopped with everything delivered, 1 on failure
(including data the server never acknowledged), 2 on bad options.`;

function integer(
  flag: string,
  raw: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(value) || value < min || value > max) {
    throw new UsageError(
      `--${flag} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`,
    );
  }
  return value;
}

/** Parses argv (without node and the script); throws UsageError on bad input. */
export function parseSimArgs(argv: string[], now: () => number = Date.now): ParsedArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        server: { type: 'string' },
        sessions: { type: 'string' },
        fps: { type: 'string' },
        images: { type: 'string' },
        epochs: { type: 'string' },
        batches: { type: 'string' },
        'image-size': { type: 'string' },
        name: { type: 'string' },
        seed: { type: 'string' },
        quiet: { type: 'boolean' },
        'nan-at-step': { type: 'string' },
        'stall-at-step': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help) return { kind: 'help' };
  const server = values.server ?? '127.0.0.1:50051';
  if (!/^[^\s:]+:\d{1,5}$/.test(server) && !/^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(server)) {
    throw new UsageError(`--server must be host:port, got ${JSON.stringify(server)}`);
  }
  const fps = values.fps === undefined ? 10 : Number(values.fps);
  if (!Number.isFinite(fps) || fps <= 0 || fps > 1000) {
    throw new UsageError(
      `--fps must be a number above 0 and at most 1000, got ${JSON.stringify(values.fps)}`,
    );
  }
  const name = values.name ?? 'trainer-sim';
  if (!/^[A-Za-z0-9._:-]{1,64}$/.test(name)) {
    throw new UsageError(
      `--name must be 1-64 characters from [A-Za-z0-9._:-], got ${JSON.stringify(name)}`,
    );
  }
  return {
    kind: 'run',
    options: {
      server,
      sessions: integer('sessions', values.sessions, 1, 1, 64),
      fps,
      images: integer('images', values.images, 16, 0, 64),
      epochs: integer('epochs', values.epochs, 10, 1, 100_000),
      batches: integer('batches', values.batches, 100, 1, 1_000_000),
      imageSize: integer('image-size', values['image-size'], 32, 8, 512),
      name,
      seed: integer('seed', values.seed, now() % 2 ** 31, 0, 2 ** 31 - 1),
      quiet: values.quiet ?? false,
      nanAtStep:
        values['nan-at-step'] === undefined
          ? undefined
          : integer('nan-at-step', values['nan-at-step'], 0, 0, 2 ** 31 - 1),
      stallAtStep:
        values['stall-at-step'] === undefined
          ? undefined
          : integer('stall-at-step', values['stall-at-step'], 0, 0, 2 ** 31 - 1),
    },
  };
}

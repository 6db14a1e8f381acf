import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { WORKSPACE_ROOT } from '@trainwatch/testing';

/** The built simulator (`npx nx build trainer-sim`). */
export const SIMULATOR_ENTRY = join(WORKSPACE_ROOT, 'dist/apps/trainer-sim/main.js');

export interface DemoRunOptions {
  grpcAddress: string;
  fps: number;
  epochs: number;
  batches: number;
  name: string;
  /** Extra environment for the simulator (e.g. TRAINWATCH_API_KEY). */
  env?: Record<string, string>;
  /** More simulator flags (e.g. `--nan-at-step 100`). */
  extraArgs?: readonly string[];
}

/** A simulated training run streaming into the server, as `npm run demo` starts it. */
export interface DemoRun {
  readonly child: ChildProcess;
  output(): string;
  /** Resolves with the exit code once the process ends. */
  exited: Promise<number | null>;
  kill(): Promise<void>;
}

export function startDemoRun(options: DemoRunOptions): DemoRun {
  if (!existsSync(SIMULATOR_ENTRY)) {
    throw new Error(`${SIMULATOR_ENTRY} is missing: run \`npx nx build trainer-sim\` first`);
  }
  const args = [
    SIMULATOR_ENTRY,
    '--server',
    options.grpcAddress,
    '--fps',
    String(options.fps),
    '--images',
    '16',
    '--epochs',
    String(options.epochs),
    '--batches',
    String(options.batches),
    '--name',
    options.name,
    '--seed',
    '7',
    ...(options.extraArgs ?? []),
  ];
  const child = spawn(process.execPath, args, {
    cwd: WORKSPACE_ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  return {
    child,
    output: () => log,
    exited,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { workspaceRoot } from './targets';

/** One case of the Python SDK's log_batch cost (clients/python/bench/log_overhead.py --json). */
export interface PythonLogCost {
  case: string;
  calls: number;
  median_us: number;
  p99_us: number;
  max_us: number;
}

/** The interpreter the Python SDK is tested with (PYTHON overrides it). */
const PYTHON = process.env.PYTHON ?? '/usr/bin/python3';
/** Most output kept from the script: a few JSON lines, or an error to report. */
const MAX_OUTPUT_CHARS = 64 * 1024;

/**
 * Runs the Python SDK's log_batch cost script against `address` at `rate`
 * calls/s; resolves with its cases, or rejects with what it printed.
 */
export function pythonLogCost(
  address: string,
  calls: number,
  rate: number,
): Promise<PythonLogCost[]> {
  const script = join(workspaceRoot(), 'clients/python/bench/log_overhead.py');
  if (!existsSync(PYTHON)) return Promise.reject(new Error(`${PYTHON} is missing`));
  return new Promise((resolve, reject) => {
    const child = spawn(
      PYTHON,
      [script, '--server', address, '--calls', String(calls), '--rate', String(rate), '--json'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on(
      'data',
      (chunk: Buffer) => (out = (out + chunk.toString()).slice(-MAX_OUTPUT_CHARS)),
    );
    child.stderr.on(
      'data',
      (chunk: Buffer) => (err = (err + chunk.toString()).slice(-MAX_OUTPUT_CHARS)),
    );
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) {
        reject(
          new Error(
            `log_overhead.py exited with ${code}: ${err.trim().split('\n').slice(-3).join(' ')}`,
          ),
        );
        return;
      }
      resolve(
        out
          .split('\n')
          .filter((line) => line.startsWith('{'))
          .map((line) => JSON.parse(line) as PythonLogCost),
      );
    });
  });
}

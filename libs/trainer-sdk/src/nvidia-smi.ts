import { execFile } from 'node:child_process';
import { SYSTEM_SERIES_PREFIX } from '@trainwatch/proto';

/** The query both SDKs run (see libs/sdk-scenarios/nvidia-smi.json). */
export const NVIDIA_SMI_ARGS = [
  '--query-gpu=index,utilization.gpu,memory.used,memory.total,temperature.gpu,power.draw',
  '--format=csv,noheader,nounits',
];

const MIB = 1024 * 1024;

/** Series per query column after the index, with the factor to the series' unit. */
const COLUMNS: readonly [suffix: string, factor: number][] = [
  ['utilization_percent', 1],
  ['memory_used_bytes', MIB],
  ['memory_total_bytes', MIB],
  ['temperature_c', 1],
  ['power_w', 1],
];

/**
 * Reads the query's output: one line per GPU, `system/gpu<index>/<series>`.
 * Columns the driver does not expose (`[N/A]`, `[Not Supported]`) are left out.
 */
export function parseNvidiaSmi(output: string): Record<string, number> {
  const values: Record<string, number> = {};
  for (const line of output.split('\n')) {
    const cells = line.split(',').map((cell) => cell.trim());
    const index = cells[0];
    if (index === undefined || !/^\d+$/.test(index)) continue;
    COLUMNS.forEach(([suffix, factor], column) => {
      const number = Number(cells[column + 1]);
      if (cells[column + 1] !== '' && Number.isFinite(number)) {
        values[`${SYSTEM_SERIES_PREFIX}gpu${index}/${suffix}`] = number * factor;
      }
    });
  }
  return values;
}

/** Consecutive failed queries after which GPU figures are given up for the run. */
export const NVIDIA_SMI_MAX_FAILURES = 3;

/**
 * Asks nvidia-smi for GPU figures, one query at a time, each killed after
 * `timeoutMs`. Where it is missing (ENOENT: no NVIDIA driver, or not Linux),
 * or fails repeatedly, it gives up for the run and answers undefined: GPU
 * series are then simply absent.
 */
export class NvidiaSmiReader {
  private failures = 0;
  private givenUp = false;

  constructor(
    private readonly timeoutMs: number,
    private readonly command = 'nvidia-smi',
  ) {}

  get available(): boolean {
    return !this.givenUp;
  }

  read(): Promise<Record<string, number> | undefined> {
    if (this.givenUp) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      execFile(
        this.command,
        NVIDIA_SMI_ARGS,
        { timeout: this.timeoutMs, windowsHide: true },
        (error, stdout) => {
          if (error) {
            const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
            if (missing || ++this.failures >= NVIDIA_SMI_MAX_FAILURES) this.givenUp = true;
            resolve(undefined);
            return;
          }
          this.failures = 0;
          resolve(parseNvidiaSmi(stdout));
        },
      );
    });
  }
}

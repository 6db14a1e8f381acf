import { freemem, totalmem } from 'node:os';
import { SYSTEM_SERIES_PREFIX } from '@trainwatch/proto';
import { NvidiaSmiReader } from './nvidia-smi';
import { CpuMeter } from './performance-tracker';

/** Default and accepted range of the system sampling period: every 1-2 s, as the contract says. */
export const DEFAULT_SYSTEM_INTERVAL_MS = 1000;
export const MIN_SYSTEM_INTERVAL_MS = 1000;
export const MAX_SYSTEM_INTERVAL_MS = 2000;

/** CPU and memory of this process and machine, as `system/` series. */
export function processFigures(cpu: CpuMeter): Record<string, number> {
  const total = totalmem();
  return {
    [`${SYSTEM_SERIES_PREFIX}cpu_percent`]: cpu.sample(),
    [`${SYSTEM_SERIES_PREFIX}process_rss_bytes`]: process.memoryUsage.rss(),
    [`${SYSTEM_SERIES_PREFIX}memory_used_bytes`]: total - freemem(),
    [`${SYSTEM_SERIES_PREFIX}memory_total_bytes`]: total,
  };
}

/**
 * Samples the machine every `intervalMs` on a timer that does not keep the
 * process alive, and hands each sample to `emit`. A sample waits for the GPU
 * query (bounded by the interval); a tick that comes while one is still
 * running is skipped rather than queued.
 */
export class SystemSampler {
  private readonly cpu = new CpuMeter();
  private readonly gpu: NvidiaSmiReader;
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private stopped = false;

  constructor(
    private readonly intervalMs: number,
    private readonly emit: (values: Record<string, number>) => void,
    gpu?: NvidiaSmiReader,
  ) {
    this.gpu = gpu ?? new NvidiaSmiReader(intervalMs);
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One sample now (also what the timer runs). */
  async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const values = processFigures(this.cpu);
      const gpu = await this.gpu.read();
      // A session that closed while nvidia-smi ran sends nothing more.
      if (this.stopped) return;
      this.emit({ ...values, ...gpu });
    } finally {
      this.busy = false;
    }
  }
}

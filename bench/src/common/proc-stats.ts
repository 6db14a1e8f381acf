import { readFileSync } from 'node:fs';

/** Kernel clock ticks per second for /proc/<pid>/stat times (USER_HZ, 100 on Linux). */
const CLOCK_TICKS_PER_SECOND = 100;
/** Samples kept per sampler: at one per 250 ms that is over an hour. */
const MAX_SAMPLES = 20_000;

/** CPU time and memory of one process at one moment. */
export interface ProcSample {
  /** performance.now() when read. */
  atMs: number;
  /** User + system CPU time consumed so far, milliseconds. */
  cpuMs: number;
  /** Resident set size, bytes. */
  rssBytes: number;
}

/** Parses utime + stime (fields 14 and 15) out of a /proc/<pid>/stat line, in milliseconds. */
export function parseCpuMs(statLine: string): number {
  // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
  const rest = statLine.slice(statLine.lastIndexOf(')') + 2).split(' ');
  // `rest[0]` is field 3 (state), so field N is rest[N - 3].
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime))
    throw new Error(`unparsable stat line: ${statLine}`);
  return ((utime + stime) * 1000) / CLOCK_TICKS_PER_SECOND;
}

/** Parses VmRSS out of /proc/<pid>/status, in bytes. */
export function parseRssBytes(status: string): number {
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!match) throw new Error('VmRSS missing from /proc status');
  return Number(match[1]) * 1024;
}

/** Reads CPU time and RSS of `pid` from /proc. Throws when the process is gone. */
export function readProc(pid: number): ProcSample {
  const atMs = performance.now();
  const cpuMs = parseCpuMs(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  const rssBytes = parseRssBytes(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { atMs, cpuMs, rssBytes };
}

/** CPU use between two samples, percent of one core. */
export function cpuPercent(from: ProcSample, to: ProcSample): number {
  const wall = to.atMs - from.atMs;
  return wall <= 0 ? 0 : ((to.cpuMs - from.cpuMs) / wall) * 100;
}

/** CPU and memory of one process over a window. */
export interface ProcWindow {
  cpuPercent: number;
  rssStartBytes: number;
  rssEndBytes: number;
  rssPeakBytes: number;
}

/**
 * Samples a process every `intervalMs` so a benchmark can ask for CPU and
 * RSS over any window. Keeps at most MAX_SAMPLES (the oldest are dropped).
 */
export class ProcSampler {
  private readonly samples: ProcSample[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly pid: number,
    private readonly intervalMs = 250,
  ) {}

  start(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
    return this;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Takes a sample now; returns it, or undefined when the process is gone. */
  sample(): ProcSample | undefined {
    try {
      const sample = readProc(this.pid);
      this.samples.push(sample);
      if (this.samples.length > MAX_SAMPLES) this.samples.shift();
      return sample;
    } catch {
      return undefined;
    }
  }

  /** CPU and RSS between `fromMs` and now (performance.now() clock). */
  window(fromMs: number): ProcWindow {
    const last = this.sample();
    const inWindow = this.samples.filter((s) => s.atMs >= fromMs);
    const first = inWindow[0];
    if (!first || !last) throw new Error(`no samples of pid ${this.pid} since ${fromMs}`);
    return {
      cpuPercent: cpuPercent(first, last),
      rssStartBytes: first.rssBytes,
      rssEndBytes: last.rssBytes,
      rssPeakBytes: Math.max(...inWindow.map((s) => s.rssBytes)),
    };
  }
}

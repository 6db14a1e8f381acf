import { cpuPercent, parseCpuMs, parseRssBytes, readProc } from './proc-stats';

describe('/proc parsing', () => {
  it('reads utime + stime even when the command name has spaces and parentheses', () => {
    const line =
      '4242 (node (bench) x) S 1 2 3 0 -1 4194304 100 0 0 0 250 50 0 0 20 0 11 0 76995 3133440 410';
    expect(parseCpuMs(line)).toBe(3000);
  });

  it('reads VmRSS in bytes', () => {
    expect(parseRssBytes('Name:\tnode\nVmRSS:\t  123456 kB\nThreads: 7\n')).toBe(123456 * 1024);
    expect(() => parseRssBytes('Name: node\n')).toThrow(/VmRSS/);
  });

  it('reads this process and computes CPU percent between samples', () => {
    const sample = readProc(process.pid);
    expect(sample.rssBytes).toBeGreaterThan(1e6);
    expect(
      cpuPercent({ atMs: 0, cpuMs: 0, rssBytes: 0 }, { atMs: 1000, cpuMs: 500, rssBytes: 0 }),
    ).toBe(50);
  });
});

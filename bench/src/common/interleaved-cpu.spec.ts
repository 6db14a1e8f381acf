import { summarizeInterleaved, type CpuWindow } from './interleaved-cpu';

const window = (side: 0 | 1, cpuPerKiloMessages: number): CpuWindow => ({
  side,
  cpuPercent: cpuPerKiloMessages,
  ackedPerSec: 1000,
  cpuPerKiloMessages,
});

describe('summarizeInterleaved', () => {
  it('judges by the median round, so one window a neighbour spoiled does not decide', () => {
    // Rounds A B, B A, A B: the second round's "on" window ran during someone else's burst.
    const result = summarizeInterleaved([
      window(0, 50),
      window(1, 51),
      window(1, 70),
      window(0, 50),
      window(0, 52),
      window(1, 52),
    ]);
    expect(result.cost).toBeCloseTo(0.02, 5);
    expect(result.costRange[0]).toBeCloseTo(0, 5);
    expect(result.costRange[1]).toBeCloseTo(0.4, 5);
    expect(result.median).toEqual([50, 52]);
    // The noise of one window is shown: (70 - 51) / 52.
    expect(result.windowSpread).toBeCloseTo(19 / 52, 5);
  });

  it('refuses windows that are not rounds of one window per side', () => {
    expect(() => summarizeInterleaved([window(0, 50), window(0, 51)])).toThrow(
      /not one of each side/,
    );
    expect(() => summarizeInterleaved([window(0, 50)])).toThrow(/rounds are two windows each/);
  });
});

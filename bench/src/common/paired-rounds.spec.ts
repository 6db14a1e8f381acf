import {
  roundOrder,
  roundSequence,
  summarizePairedRounds,
  type PairedWindow,
} from './paired-rounds';

const w = (side: 0 | 1, value: number): PairedWindow => ({ side, value });

describe('summarizePairedRounds', () => {
  it('judges by the median round, so one round a neighbour spoiled does not decide', () => {
    // A B, B A, A B: the second round's "with" window ran during someone else's burst.
    const result = summarizePairedRounds([
      w(0, 10),
      w(1, 10.5),
      w(1, 20),
      w(0, 10),
      w(0, 8),
      w(1, 8.4),
    ]);
    expect(result.ratios.map((r) => Number(r.toFixed(5)))).toEqual([0.05, 1, 0.05]);
    expect(result.median).toBeCloseTo(0.05, 5);
    expect(result.range).toEqual([expect.closeTo(0.05, 5), 1]);
    expect(result.medianPerSide).toEqual([10, 10.5]);
    // Windows without the change moved by (10 − 8) / 10 with nothing changed.
    expect(result.baselineSpread).toBeCloseTo(0.2, 5);
  });

  it('can fail: a change that slows every round shows as its median ratio', () => {
    const result = summarizePairedRounds([w(0, 7), w(1, 9.8), w(1, 9.1), w(0, 6.5)]);
    expect(result.median).toBeGreaterThan(0.1);
  });

  it('refuses windows that are not rounds of one window per side', () => {
    expect(() => summarizePairedRounds([w(0, 5), w(0, 6)])).toThrow(
      'windows 0 and 1 are not one of each side',
    );
    expect(() => summarizePairedRounds([w(0, 5)])).toThrow(
      '1 windows: rounds are two windows each',
    );
    expect(() => summarizePairedRounds([])).toThrow('no complete round');
    expect(() => summarizePairedRounds([w(0, 0), w(1, 5)])).toThrow('window 0 measured 0');
  });
});

describe('roundOrder', () => {
  it('alternates which side goes first', () => {
    expect([0, 1, 2, 3].map(roundOrder)).toEqual([
      [0, 1],
      [1, 0],
      [0, 1],
      [1, 0],
    ]);
  });
});

describe('roundSequence', () => {
  it('measures every configuration each round, last first every other round', () => {
    const order = [0, 1, 2].map((round) => roundSequence(['memory', 'sqlite', 'postgres'], round));
    expect(order).toEqual([
      ['memory', 'sqlite', 'postgres'],
      ['postgres', 'sqlite', 'memory'],
      ['memory', 'sqlite', 'postgres'],
    ]);
  });

  it('leaves the list it was given as it was', () => {
    const items = ['a', 'b'];
    roundSequence(items, 1);
    expect(items).toEqual(['a', 'b']);
  });
});

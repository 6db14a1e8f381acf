import { count, markdownTable, mb, mbDelta, ms, pct, times, us } from './format';

describe('number formatting', () => {
  it('keeps one decimal below 100 and none above', () => {
    expect(ms(4.26)).toBe('4.3 ms');
    expect(ms(123.6)).toBe('124 ms');
    expect(us(12.34)).toBe('12.3 µs');
  });

  it('writes missing values as n/a, never NaN', () => {
    for (const format of [ms, us, mb, mbDelta, count, pct, times])
      expect(format(Number.NaN)).toBe('n/a');
  });

  it('formats sizes, deltas, counts, shares and ratios', () => {
    expect(mb(52_400_000)).toBe('52.4 MB');
    expect(mbDelta(-1_000_000)).toBe('-1.0 MB');
    expect(mbDelta(3_210_000)).toBe('+3.2 MB');
    expect(count(12345.6)).toBe('12,346');
    expect(pct(94.5)).toBe('95%');
    expect(times(0.8512)).toBe('0.85×');
  });
});

describe('markdownTable', () => {
  it('renders a header, a rule and rows, escaping pipes', () => {
    expect(markdownTable(['a', 'b'], [['1', 'x|y']])).toBe(
      '| a | b |\n| --- | --- |\n| 1 | x\\|y |',
    );
  });

  it('refuses a row whose width does not match the header', () => {
    expect(() => markdownTable(['a', 'b'], [['1']])).toThrow(/1 cells, table has 2 columns/);
  });
});

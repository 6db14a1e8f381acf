import { parseBenchArgs } from './result';

describe('parseBenchArgs', () => {
  it('defaults to a full run of both sides', () => {
    const options = parseBenchArgs([]);
    expect(options.quick).toBe(false);
    expect(options.out).toBeUndefined();
    expect([...options.targets].sort()).toEqual(['product', 'relay']);
  });

  it('reads --quick, --out and --targets', () => {
    const options = parseBenchArgs(['--quick', '--out', 'x.json', '--targets', 'relay']);
    expect(options).toMatchObject({ quick: true, out: 'x.json' });
    expect([...options.targets]).toEqual(['relay']);
  });

  it('names what is wrong with bad arguments', () => {
    expect(() => parseBenchArgs(['--out'])).toThrow(/--out needs/);
    expect(() => parseBenchArgs(['--targets', 'envoy'])).toThrow(/product and\/or relay/);
    expect(() => parseBenchArgs(['--fast'])).toThrow(/unknown argument --fast/);
  });
});

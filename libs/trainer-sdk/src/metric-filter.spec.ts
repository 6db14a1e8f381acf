import { MetricFilter, type MetricProblem } from './metric-filter';

function filter() {
  const problems: MetricProblem[] = [];
  return { problems, metrics: new MetricFilter((p) => problems.push(p)) };
}

describe('MetricFilter', () => {
  it('keeps valid names, NaN and infinities included', () => {
    const { metrics, problems } = filter();
    expect(metrics.filter({ lr: 0.1, 'val/acc': NaN, grad_norm: Infinity }, 'x')).toEqual({
      lr: 0.1,
      'val/acc': NaN,
      grad_norm: Infinity,
    });
    expect(problems).toEqual([]);
    expect(metrics.seriesCount).toBe(4); // loss counts
  });

  it('leaves out a bad name, loss and a non-number, reporting each name once', () => {
    const { metrics, problems } = filter();
    const values = {
      ['x'.repeat(10_000)]: 1,
      '/lead': 2,
      loss: 3,
      ok: 4,
      text: 'a' as unknown as number,
    };
    expect(metrics.filter(values, 'logBatch 0/1')).toEqual({ ok: 4 });
    expect(metrics.filter(values, 'logBatch 0/2')).toEqual({ ok: 4 });
    expect(problems.map((p) => p.name.slice(0, 5))).toEqual(['xxxxx', '/lead', 'loss', 'text']);
    expect(problems[0]!.message).toMatch(
      /logBatch 0\/1: left out "x+": a series name must be 1-128 characters .* \(got 10000 characters\)/,
    );
    expect(problems[2]!.message).toMatch(/batch loss's series/);
  });

  it('keeps at most max_metrics_per_message values per message', () => {
    const { metrics, problems } = filter();
    metrics.setLimits(0, 2);
    expect(metrics.filter({ a: 1, b: 2, c: 3 }, 'log')).toEqual({ a: 1, b: 2 });
    expect(problems[0]!.message).toMatch(/at most 2 named values/);
  });

  it('refuses the series beyond max_series and keeps sending the known ones', () => {
    const { metrics, problems } = filter();
    metrics.setLimits(3, 0); // loss + 2
    expect(metrics.filter({ a: 1, b: 2 }, 'log')).toEqual({ a: 1, b: 2 });
    expect(metrics.filter({ a: 1, c: 3 }, 'log')).toEqual({ a: 1 });
    expect(problems).toEqual([
      {
        name: 'c',
        message: 'log: left out "c": the session already has 3 series, the most the server allows',
      },
    ]);
  });
});

import {
  DEFAULT_CHART_VIEW,
  joinHash,
  readChartView,
  splitHash,
  writeChartView,
  type ChartViewState,
} from './chart-view-params';

describe('chart view in the URL', () => {
  it('round-trips every part of the view through the hash, keeping other parameters', () => {
    const view: ChartViewState = {
      xAxis: 'relative',
      smoothing: { mode: 'time-ema', weight: 0.85, window: 10 },
      logScale: true,
      ignoreOutliers: true,
      zoom: { from: 120.5, to: 480 },
      cursorStep: 300,
      filter: 'val/*',
      hiddenRuns: ['run b', 'c'],
    };
    const { path, params } = splitHash('#/compare?runs=a,run%20b,c');
    const hash = joinHash(path, writeChartView(view, params));
    expect(hash.startsWith('#/compare?runs=a,run+b,c&x=relative')).toBe(true);
    const again = splitHash(hash);
    expect(again.path).toBe('#/compare');
    expect(again.params.get('runs')).toBe('a,run b,c');
    expect(readChartView(again.params)).toEqual(view);
  });

  it('keeps a running-average window and smoothing off', () => {
    for (const smoothing of [
      { mode: 'average' as const, weight: 0.6, window: 25 },
      { mode: 'off' as const, weight: 0.6, window: 10 },
    ]) {
      const params = writeChartView({ ...DEFAULT_CHART_VIEW, smoothing }, new URLSearchParams());
      expect(readChartView(params).smoothing).toEqual(smoothing);
    }
  });

  it('writes nothing for the default view and reads malformed parameters as defaults', () => {
    expect(writeChartView(DEFAULT_CHART_VIEW, new URLSearchParams()).toString()).toBe('');
    const params = new URLSearchParams('x=sideways&smooth=ema:lots&zoom=9~3&step=abc&log=yes');
    expect(readChartView(params)).toEqual(DEFAULT_CHART_VIEW);
    expect(readChartView(new URLSearchParams('smooth=average:99999')).smoothing.window).toBe(1000);
  });
});

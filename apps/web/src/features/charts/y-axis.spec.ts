import { logTickLabels, MIN_Y_AXIS_PX, yAxisSizePx, yTickLabels } from './y-axis';

describe('yTickLabels', () => {
  it('writes bytes with one SI prefix per axis and the decimals the ticks need', () => {
    expect(yTickLabels([2.52e10, 2.525e10, 2.53e10])).toEqual(['25.20G', '25.25G', '25.30G']);
    expect(yTickLabels([8.2e8, 8.4e8, 8.6e8])).toEqual(['820M', '840M', '860M']);
    expect(yTickLabels([0, 500, 1000, 1500])).toEqual(['0', '0.5k', '1.0k', '1.5k']);
  });

  it('keeps neighbouring small ticks apart, despite the float noise in uPlot splits', () => {
    expect(yTickLabels([0.0012, 0.0014, 0.0016000000000000003])).toEqual([
      '0.0012',
      '0.0014',
      '0.0016',
    ]);
    expect(yTickLabels([0.1, 0.2, 0.30000000000000004])).toEqual(['0.1', '0.2', '0.3']);
    expect(yTickLabels([1e-5, 1.5e-5, 2e-5])).toEqual(['1.0e-5', '1.5e-5', '2.0e-5']);
  });

  it('writes negatives with their sign and leaves the gaps of a log axis empty', () => {
    expect(yTickLabels([-2e6, 0, 2e6])).toEqual(['-2M', '0', '2M']);
    expect(yTickLabels([1, null, 10])).toEqual(['1', '', '10']);
  });
});

describe('logTickLabels', () => {
  it('writes each decade of a log axis at its own scale', () => {
    expect(logTickLabels([0.001, 1, 1000, 1e6, null])).toEqual(['0.001', '1', '1k', '1M', '']);
  });
});

describe('yAxisSizePx', () => {
  it('widens the axis for long labels and keeps the usual width for short ones', () => {
    expect(yAxisSizePx(['0', '5'])).toBe(MIN_Y_AXIS_PX);
    expect(yAxisSizePx(null)).toBe(MIN_Y_AXIS_PX);
    expect(yAxisSizePx(['838.94M', '838.96M'])).toBeGreaterThan(MIN_Y_AXIS_PX);
  });
});

import { useChartPage, useChartViewSelect } from './chart-view-context';
import { DEFAULT_SMOOTHING, MAX_AVERAGE_WINDOW, type SmoothingMode } from './smoothing';
import { X_AXES, isXAxisKind } from './x-axis';
import './chart-toolbar.css';

const SMOOTHING_MODES: readonly { mode: SmoothingMode; label: string }[] = [
  { mode: 'ema', label: 'EMA' },
  { mode: 'time-ema', label: 'Time-weighted EMA' },
  { mode: 'average', label: 'Running average' },
  { mode: 'off', label: 'Off' },
];

function formatZoom(from: number, to: number): string {
  const digits = to - from >= 100 ? 0 : to - from >= 1 ? 2 : 4;
  return `${from.toFixed(digits)} – ${to.toFixed(digits)}`;
}

/**
 * One set of chart controls per page: x axis, smoothing, log scale, ignore
 * outliers, the zoom (shared by every chart) and the step cursor. Each
 * discrete change is a browser history entry; dragging a slider replaces it.
 */
export function ChartToolbar() {
  const { view } = useChartPage();
  const state = useChartViewSelect(view, (current) => current);
  const { smoothing, zoom } = state;
  return (
    <div className="chart-toolbar small" data-testid="chart-toolbar">
      <label>
        x axis{' '}
        <select
          data-testid="chart-x-axis"
          value={state.xAxis}
          onChange={(event) => {
            const value = event.target.value;
            // A zoom is in the units of the old axis.
            if (isXAxisKind(value)) view.update({ xAxis: value, zoom: undefined });
          }}
        >
          {X_AXES.map((axis) => (
            <option key={axis.kind} value={axis.kind}>
              {axis.label}
            </option>
          ))}
        </select>
      </label>
      <label>
        Smoothing{' '}
        <select
          data-testid="chart-smoothing-mode"
          value={smoothing.mode}
          onChange={(event) =>
            view.update({ smoothing: { ...smoothing, mode: event.target.value as SmoothingMode } })
          }
        >
          {SMOOTHING_MODES.map((option) => (
            <option key={option.mode} value={option.mode}>
              {option.label}
            </option>
          ))}
        </select>
      </label>
      {(smoothing.mode === 'ema' || smoothing.mode === 'time-ema') && (
        <label>
          <input
            type="range"
            data-testid="chart-smoothing-weight"
            aria-label="Smoothing weight"
            min={0}
            max={0.99}
            step={0.01}
            value={smoothing.weight}
            onChange={(event) =>
              view.update(
                { smoothing: { ...smoothing, weight: Number(event.target.value) } },
                'replace',
              )
            }
          />
          <span className="numeric" data-testid="chart-smoothing-value">
            {smoothing.weight.toFixed(2)}
          </span>
        </label>
      )}
      {smoothing.mode === 'average' && (
        <label>
          window{' '}
          <input
            type="number"
            data-testid="chart-smoothing-window"
            aria-label="Running average window"
            min={1}
            max={MAX_AVERAGE_WINDOW}
            value={smoothing.window}
            onChange={(event) => {
              const window = Math.min(
                Math.max(Math.round(Number(event.target.value)) || DEFAULT_SMOOTHING.window, 1),
                MAX_AVERAGE_WINDOW,
              );
              view.update({ smoothing: { ...smoothing, window } }, 'replace');
            }}
          />
        </label>
      )}
      <label>
        <input
          type="checkbox"
          data-testid="chart-log-scale"
          checked={state.logScale}
          onChange={(event) => view.update({ logScale: event.target.checked })}
        />{' '}
        Log scale
      </label>
      <label>
        <input
          type="checkbox"
          data-testid="chart-ignore-outliers"
          checked={state.ignoreOutliers}
          onChange={(event) => view.update({ ignoreOutliers: event.target.checked })}
        />{' '}
        Ignore outliers
      </label>
      <span className="muted" data-testid="chart-zoom">
        {zoom ? `zoomed ${formatZoom(zoom.from, zoom.to)}` : 'drag across a chart to zoom'}
      </span>
      {zoom && (
        <button
          type="button"
          className="small"
          data-testid="chart-zoom-reset"
          onClick={() => view.update({ zoom: undefined })}
        >
          Reset zoom
        </button>
      )}
      <span className="muted" data-testid="chart-cursor-step" data-step={state.cursorStep}>
        {state.cursorStep === undefined
          ? 'click a chart to pick a step'
          : `cursor at step ${state.cursorStep}`}
      </span>
    </div>
  );
}

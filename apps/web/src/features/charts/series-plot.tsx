import type { SeriesWindow } from '@trainwatch/proto';
import { useCallback, useEffect, useRef, useState } from 'react';
import type uPlot from 'uplot';
import { formatMetric } from '../../common/format';
import { chartDrawObserver } from '../series/hooks/visibility-observer';
import { bandFill, drawBandColumns, noPath } from './band-fill';
import { chartDrawQueue } from './chart-draw-queue';
import { useChartPage, useChartViewSelect } from './chart-view-context';
import { roundZoomValue, type ChartViewState, type ZoomWindow } from './chart-view-params';
import { nanGaps } from './non-finite-gaps';
import { fitToPixels, pixelRatio } from './pixel-columns';
import { buildPlotData, withWindow, type PlotColumns, type PlotLine } from './plot-data';
import { robustRange } from './robust-range';
import { useUplot } from './use-uplot';
import { WHOLE_NUMBER_INCREMENTS } from './whole-number-ticks';
import { Y_AXIS_LABELS } from './y-axis';
import { axisLabel, isTimeAxis, stepAtAxisX, toAxisX, type XAxisKind } from './x-axis';

const AXIS = { stroke: '#9aa4b2', grid: { stroke: 'rgba(128, 140, 160, 0.2)' } };
/** A press that moves less than this many pixels is a click (set the step cursor), not a zoom. */
const CLICK_SLOP_PX = 4;
/** Width of a smoothed line, CSS pixels (the raw line under it is 1 px and faint). */
export const SMOOTHED_LINE_WIDTH_PX = 1.75;

export interface SeriesPlotProps {
  /** The series drawn (one per chart; compare draws it for every run). */
  name: string;
  byEpoch: boolean;
  /** The lines now; read when the chart draws, so typed arrays go in without a copy. */
  lines: () => readonly PlotLine[];
  /** Changes whenever a line's points do; the chart takes new data on it (once per frame at most). */
  version: number;
  /** Lines (by index) left out. */
  hidden?: ReadonlySet<number>;
  height: number;
  testId: string;
  /** Extra drawing after the lines (missing history, non-finite marks). */
  decorate?: (u: uPlot) => void;
  /** A node beside the readout (export buttons). */
  actions?: React.ReactNode;
  title?: string;
  /**
   * Width of the smoothed lines, CSS pixels (SMOOTHED_LINE_WIDTH_PX unless
   * given). Up to 1 px the browser strokes a line as a hairline; a wider
   * line is outlined and filled, which in software rendering costs several
   * times as much per point (see COMPARE_LINE_WIDTH_PX).
   */
  smoothedWidthPx?: number;
}

function withAlpha(colour: string, alpha: number): string {
  const hex = /^#([0-9a-f]{6})$/i.exec(colour)?.[1];
  if (!hex) return colour;
  const [r, g, b] = [0, 2, 4].map((at) => parseInt(hex.slice(at, at + 2), 16));
  return `rgba(${r}, ${g}, ${b}, ${alpha})`;
}

function formatX(axis: XAxisKind, x: number): string {
  if (axis === 'wall') return new Date(x * 1000).toLocaleTimeString();
  if (axis === 'relative') return `${x.toFixed(1)} s`;
  if (axis === 'epoch') return `epoch ${Number(x.toFixed(3))}`;
  return `step ${Math.round(x)}`;
}

/** A hover marker as uPlot's default draws it (its size and border; uPlot fills and moves it). */
function cursorMarker(u: uPlot, seriesIndex: number): HTMLElement {
  const points = u.cursor.points as Required<uPlot.Cursor.Points> & {
    size: (u: uPlot, seriesIndex: number) => number;
    width: (u: uPlot, seriesIndex: number, size: number) => number;
  };
  const size = points.size(u, seriesIndex);
  const marker = document.createElement('div');
  marker.style.width = `${size}px`;
  marker.style.height = `${size}px`;
  marker.style.marginLeft = `${-size / 2}px`;
  marker.style.marginTop = `${-size / 2}px`;
  const border = points.width(u, seriesIndex, size);
  if (border) marker.style.borderWidth = `${border}px`;
  return marker;
}

/** The y range of the points inside the x range, outliers left out. */
function visibleRobustRange(u: uPlot, columns: number[]): [number, number] | undefined {
  const xs = u.data[0];
  const min = u.scales.x.min ?? -Infinity;
  const max = u.scales.x.max ?? Infinity;
  let first = 0;
  while (first < xs.length && (xs[first] as number) < min) first++;
  let last = xs.length;
  while (last > first && (xs[last - 1] as number) > max) last--;
  return robustRange(
    columns
      .map((index) => (u.data[index] as ArrayLike<number | null>) ?? [])
      .map((column) => Array.prototype.slice.call(column, first, last) as (number | null)[]),
  );
}

/**
 * One chart of the shared chart layer, used by the series board and the
 * compare view alike. Draws each line raw (faint) and smoothed, with a
 * min/max band where the data is downsampled, on the page's x axis, log
 * scale and outlier setting. The page's zoom is shared: a drag zooms every
 * chart, and the zoomed window is read at full resolution (through the
 * page's WindowFetcher); double-click zooms out to the live data. Hover
 * moves the cursor on every chart and shows the values there; a click sets
 * the page's step cursor, drawn as a line. uPlot gets data at most once per
 * `version` (the stores publish at most once per frame); view changes reach
 * the uPlot instance directly, not through React state.
 */
export function SeriesPlot({
  name,
  byEpoch,
  lines,
  version,
  hidden,
  height,
  testId,
  decorate,
  actions,
  title,
  smoothedWidthPx = SMOOTHED_LINE_WIDTH_PX,
}: SeriesPlotProps) {
  const { view, fetcher } = useChartPage();
  const container = useRef<HTMLDivElement>(null);
  const readout = useRef<HTMLSpanElement>(null);
  const xAxis = useChartViewSelect(view, (state) => state.xAxis);
  const smoothing = useChartViewSelect(view, (state) => state.smoothing);
  const logScale = useChartViewSelect(view, (state) => state.logScale);
  const ignoreOutliers = useChartViewSelect(view, (state) => state.ignoreOutliers);
  const zoom = useChartViewSelect(view, (state) => state.zoom);
  /** Full-resolution windows of the current zoom, by line index. */
  const windows = useRef(new Map<number, SeriesWindow>());
  const [windowInfo, setWindowInfo] = useState<{ steps: string; points: number; exact: boolean }>();
  const columns = useRef<PlotColumns | undefined>(undefined);
  const linesRef = useRef(lines);
  linesRef.current = lines;
  const hiddenRef = useRef(hidden);
  hiddenRef.current = hidden;
  const versionRef = useRef(version);
  versionRef.current = version;
  /** The lines' own data (no zoom window) as last built, and what it was built from. */
  const base = useRef<{
    key: readonly unknown[];
    built: PlotColumns;
    /** `built` fitted to the plot's width in pixels, when unzoomed. */
    fitted?: { pixels: number; built: PlotColumns };
  }>(undefined);

  /**
   * The columns to draw. Unzoomed, a line with more points than the plot has
   * pixels is merged to one point per pixel column (fitToPixels, given the
   * plot's width in CSS pixels); zoomed, every point held or read is drawn.
   */
  const build = useCallback(
    (pixels: number): PlotColumns => {
      if (windows.current.size === 0) {
        // Zooming out, or zooming in before the window's answer, draws the same data again:
        // aligning 20 runs once, not on every zoom, keeps a zoom to one redraw per chart.
        const key = [linesRef.current, versionRef.current, xAxis, smoothing];
        let cached = base.current;
        if (!cached || !cached.key.every((part, index) => part === key[index])) {
          cached = { key, built: buildPlotData(linesRef.current(), xAxis, smoothing) };
          base.current = cached;
        }
        if (viewRef.current.zoom === undefined) {
          if (cached.fitted?.pixels !== pixels) {
            cached.fitted = { pixels, built: fitToPixels(cached.built, pixels) };
          }
          columns.current = cached.fitted.built;
          return cached.fitted.built;
        }
        columns.current = cached.built;
        return cached.built;
      }
      const shown = linesRef.current().map((line, index) => {
        const window = windows.current.get(index);
        return window ? withWindow(line, window) : line;
      });
      const built = buildPlotData(shown, xAxis, smoothing);
      columns.current = built;
      return built;
    },
    [xAxis, smoothing],
  );

  // What decides the uPlot series and scales: the chart is rebuilt when it changes.
  const lineCount = lines().length;
  const first = lines()[0];
  const timeAxis = isTimeAxis(xAxis, first?.timeline);
  // Known from the first lines, so a downsampled chart (the compare view's) is created once, with its band.
  const [hasBand, setHasBand] = useState(() =>
    lines().some((line) => line.mins !== undefined && line.maxs !== undefined),
  );
  const viewRef = useRef<ChartViewState>(view.state);
  viewRef.current = view.state;

  const makeOptions = useCallback(
    (width: number): uPlot.Options => {
      const series: uPlot.Series[] = [{ label: axisLabel(xAxis) }];
      const stride = hasBand ? 4 : 2;
      const colours = linesRef.current().map((line) => line.colour);
      for (let i = 0; i < lineCount; i++) {
        const colour = colours[i] ?? '#6ea8fe';
        series.push(
          {
            label: `${colours.length > 1 ? '' : name} raw`,
            stroke: withAlpha(colour, 0.3),
            width: 1,
            points: { show: false },
            spanGaps: lineCount > 1,
            gaps: nanGaps,
          },
          {
            label: `${name} smoothed`,
            stroke: colour,
            width: smoothedWidthPx,
            points: { show: byEpoch },
            spanGaps: lineCount > 1,
            gaps: nanGaps,
          },
        );
        if (hasBand) {
          const at = 1 + i * stride;
          series.push(
            {
              label: 'min',
              stroke: 'transparent',
              width: 0,
              points: { show: false },
              paths: noPath,
            },
            // The band, one filled polygon from max down to min (see band-fill.ts).
            {
              label: 'max',
              stroke: 'transparent',
              width: 0,
              fill: withAlpha(colour, 0.15),
              points: { show: false },
              paths: bandFill(at + 2),
            },
          );
        }
      }
      const rawColumns = Array.from({ length: lineCount }, (_, i) => 1 + i * stride);
      const smoothedColumns = new Set(rawColumns.map((column) => column + 1));
      return {
        width,
        height,
        legend: { show: false },
        scales: {
          x: { time: timeAxis },
          y: {
            distr: logScale ? 3 : 1,
            ...(ignoreOutliers && {
              range: (u: uPlot, min: number, max: number): uPlot.Range.MinMax =>
                visibleRobustRange(u, rawColumns) ?? [min, max],
            }),
          },
        },
        axes: [
          {
            ...AXIS,
            incrs:
              xAxis === 'step' || (xAxis === 'epoch' && byEpoch)
                ? WHOLE_NUMBER_INCREMENTS
                : undefined,
          },
          { ...AXIS, ...Y_AXIS_LABELS },
        ],
        series,
        cursor: {
          drag: { x: true, y: false, setScale: false },
          sync: { key: view.syncKey, setSeries: false },
          // No uPlot double-click: it rescales this chart and, through the sync, every chart of the
          // page at once (a redraw of each in one task). The page's zoom-out (the ready hook's
          // listener) redraws them through the draw queue instead.
          bind: { dblclick: () => null },
          points: {
            // One hover marker per line, on its smoothed values. uPlot's default puts one on every
            // series: with raw, min and max too, 20 compared runs made 80 markers per chart, all
            // moved on every mouse move of every synced chart.
            show: (u: uPlot, seriesIndex: number) =>
              (smoothedColumns.has(seriesIndex)
                ? cursorMarker(u, seriesIndex)
                : undefined) as unknown as HTMLElement,
          },
        },
        hooks: {
          ready: [
            (u) => {
              const zoomNow = viewRef.current.zoom;
              if (zoomNow) u.setScale('x', { min: zoomNow.from, max: zoomNow.to });
              let downX = 0;
              u.over.addEventListener('mousedown', (event) => {
                downX = event.clientX;
                // No chart is drawn until the drag ends (uPlot reads the pressed chart's scale on mouseup).
                chartDrawQueue.hold(plot);
                window.addEventListener('mouseup', () => chartDrawQueue.release(), { once: true });
              });
              u.over.addEventListener('click', (event) => {
                const index = u.cursor.idx;
                if (Math.abs(event.clientX - downX) > CLICK_SLOP_PX || index == null) return;
                const step = columns.current?.steps[index];
                if (step !== undefined && Number.isFinite(step)) {
                  view.update({ cursorStep: Math.round(step) });
                }
              });
              u.over.addEventListener('dblclick', () => view.update({ zoom: undefined }));
            },
          ],
          setSelect: [
            (u) => {
              if (u.select.width <= 0) return;
              const from = u.posToVal(u.select.left, 'x');
              const to = u.posToVal(u.select.left + u.select.width, 'x');
              u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
              if (to > from) {
                view.zoomFromDrag({ from: roundZoomValue(from), to: roundZoomValue(to) });
              }
            },
          ],
          setCursor: [
            (u) => {
              showReadout(u);
              // Only the chart under the pointer (a native event) tells the page the hovered step;
              // the synced charts follow its cursor at their own nearest x.
              if (u.cursor.event == null) return;
              const index = u.cursor.idx;
              const step = index == null || index < 0 ? undefined : columns.current?.steps[index];
              view.hover(
                step !== undefined && Number.isFinite(step) ? Math.round(step) : undefined,
              );
            },
          ],
          // A dense band (more points than pixels) is painted as pixel columns (band-fill.ts).
          drawSeries: [drawBandColumns],
          draw: [
            (u) => {
              drawStepCursor(u);
              decorate?.(u);
            },
          ],
        },
      };
    },
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [
      xAxis,
      timeAxis,
      logScale,
      ignoreOutliers,
      hasBand,
      lineCount,
      byEpoch,
      height,
      name,
      decorate,
      view,
      smoothedWidthPx,
    ],
  );

  function showReadout(u: uPlot): void {
    const element = readout.current;
    const built = columns.current;
    // A chart off screen follows the synced cursor without writing a readout nobody sees.
    if (!element || !built || !onScreen.current) return;
    const index = u.cursor.idx;
    if (index == null || index < 0) {
      element.textContent = '';
      element.removeAttribute('data-x');
      return;
    }
    const x = u.data[0][index] as number;
    const current = linesRef.current();
    const parts = built.layout.flatMap((columnsOf, line) => {
      if (hiddenRef.current?.has(line)) return [];
      const raw = u.data[columnsOf.raw]?.[index];
      const smooth = u.data[columnsOf.smoothed]?.[index];
      if (raw == null) return [];
      const label = current.length > 1 ? `${current[line]?.label ?? line}: ` : '';
      const value = Number.isNaN(raw) ? 'not finite' : formatMetric(smooth ?? raw);
      return [
        `${label}${value}${smooth != null && smooth !== raw ? ` (raw ${formatMetric(raw)})` : ''}`,
      ];
    });
    element.setAttribute('data-x', String(x));
    element.textContent = `${formatX(xAxis, x)} · ${parts.join(' · ')}`;
  }

  function drawStepCursor(u: uPlot): void {
    const step = viewRef.current.cursorStep;
    const line = linesRef.current()[0];
    if (step === undefined || !line) return;
    const x = u.valToPos(toAxisX(xAxis, { ...line.timeline, byEpoch: false }, step), 'x', true);
    if (!Number.isFinite(x) || x < u.bbox.left || x > u.bbox.left + u.bbox.width) return;
    const ctx = u.ctx;
    ctx.save();
    ctx.strokeStyle = 'rgba(240, 200, 90, 0.9)';
    ctx.lineWidth = 1.5 * pixelRatio();
    ctx.beginPath();
    ctx.moveTo(x, u.bbox.top);
    ctx.lineTo(x, u.bbox.top + u.bbox.height);
    ctx.stroke();
    ctx.restore();
  }

  // A chart is created empty and takes its data in its turn of the frame budget (below): a
  // page of many charts opens without one long task drawing them all.
  const initial = useCallback(
    (): uPlot.AlignedData =>
      Array.from(
        { length: 1 + lineCount * (hasBand ? 4 : 2) },
        () => [],
      ) as unknown as uPlot.AlignedData,
    [lineCount, hasBand],
  );
  const plot = useUplot(container, makeOptions, initial, height);

  /** The last x of the data drawn last (live data is appended after it). */
  const drawnEnd = useRef<number | undefined>(undefined);
  /** Hands uPlot the data again, keeping the page's zoom. */
  const draw = useCallback(() => {
    const chart = plot.current;
    if (!chart) return;
    const built = build(chart.bbox.width / pixelRatio());
    if (built.hasBand !== hasBand) {
      // The band adds series: rebuild the chart with them.
      setHasBand(built.hasBand);
      return;
    }
    const zoomNow = viewRef.current.zoom;
    drawnEnd.current = built.data[0].at(-1) ?? undefined;
    // In one batch uPlot draws before this returns, not in a microtask after the queue's turn:
    // the frame budget then counts the drawing itself.
    chart.batch(() => {
      chart.setData(built.data, zoomNow === undefined);
      if (zoomNow) chart.setScale('x', { min: zoomNow.from, max: zoomNow.to });
    });
  }, [plot, build, hasBand]);

  const drawRef = useRef(draw);
  drawRef.current = draw;
  /** What the chart still has to draw: new data (or a new scale), or only the step cursor. */
  const wanted = useRef<'data' | 'cursor' | undefined>(undefined);
  /** At least partly on screen (CHART_DRAW_MARGIN); assumed until the first report. */
  const onScreen = useRef(true);
  const flush = useCallback(() => {
    const kind = wanted.current;
    wanted.current = undefined;
    if (kind === 'data') drawRef.current();
    else if (kind === 'cursor') {
      const chart = plot.current;
      chart?.batch(() => chart.redraw(false));
    }
  }, [plot]);
  /**
   * Every draw waits its turn in the page's chart frame budget, and a chart
   * off screen draws nothing until it scrolls in: a zoom on a page of ten
   * charts redraws the two or three in view at once, the rest as they come
   * into view, each at the zoomed window (every chart still asks for it).
   */
  const schedule = useCallback(
    (kind: 'data' | 'cursor') => {
      if (wanted.current !== 'data') wanted.current = kind;
      if (onScreen.current) chartDrawQueue.request(plot, flush);
    },
    [plot, flush],
  );
  useEffect(() => {
    const element = container.current;
    if (!element) return;
    return chartDrawObserver.observe(element, (visible) => {
      onScreen.current = visible;
      if (visible && wanted.current !== undefined) chartDrawQueue.request(plot, flush);
      else if (!visible) chartDrawQueue.cancel(plot);
    });
  }, [plot, flush]);

  // A chart (re)created empty, and new data, wait their turn in the page's chart frame budget.
  useEffect(() => schedule('data'), [schedule, draw, makeOptions]);
  useEffect(() => {
    // Zoomed into a window that ends before the data drawn last: live data, appended after it,
    // changes nothing on screen (uPlot ranges y over the visible points only). A long run's
    // zoomed chart would otherwise redraw its full-resolution window on every frame.
    const zoomNow = viewRef.current.zoom;
    const end = drawnEnd.current;
    if (zoomNow !== undefined && end !== undefined && zoomNow.to < end) return;
    schedule('data');
  }, [schedule, version]);
  useEffect(() => () => chartDrawQueue.cancel(plot), [plot]);

  useEffect(() => {
    const chart = plot.current;
    if (!chart) return;
    lines().forEach((_line, index) => {
      const show = !hidden?.has(index);
      const stride = hasBand ? 4 : 2;
      for (let column = 0; column < stride; column++) {
        // setSeries redraws the chart: only where a line's visibility changed.
        const series = chart.series[1 + index * stride + column];
        if (series && series.show !== show) chart.setSeries(1 + index * stride + column, { show });
      }
    });
  }, [plot, hidden, hasBand, lines, makeOptions]);

  // The step cursor: a redraw, no new data, only when it moved (a zoom draws it with the data).
  useEffect(() => {
    let cursorStep = view.state.cursorStep;
    return view.subscribe((state) => {
      if (state.cursorStep === cursorStep) return;
      cursorStep = state.cursorStep;
      schedule('cursor');
    });
  }, [view, schedule]);

  // Zoom: every chart follows; the window is read at full resolution, the live data again on zoom-out.
  useEffect(() => {
    windows.current.clear();
    setWindowInfo(undefined);
    // The data drawn stays, at the new scale, until the window's answer comes.
    schedule('data');
    // Zoomed out: the drag's window, if not asked for yet, never is.
    if (!zoom) fetcher?.zoomedOut(view.zoomGeneration);
    if (!zoom || !fetcher || byEpoch) return;
    const generation = view.zoomGeneration;
    const shown = lines();
    let cancelled = false;
    void Promise.all(
      shown.map((line, index) =>
        fetcher
          .fetch(
            line.sessionId,
            name,
            stepAtAxisX(xAxis, line.timeline, zoom.from),
            stepAtAxisX(xAxis, line.timeline, zoom.to),
            generation,
          )
          .then((window) => ({ window, index })),
      ),
    ).then((answers) => {
      if (cancelled || generation !== view.zoomGeneration) return;
      let points = 0;
      let exact = true;
      for (const { window, index } of answers) {
        if (!window) continue;
        windows.current.set(index, window);
        points += window.lastSteps.length;
        exact &&= window.exact;
      }
      if (windows.current.size === 0) return;
      const line = shown[0];
      setWindowInfo({
        steps: `${Math.max(0, Math.floor(stepAtAxisX(xAxis, line.timeline, zoom.from)))}-${Math.ceil(stepAtAxisX(xAxis, line.timeline, zoom.to))}`,
        points,
        exact,
      });
      schedule('data');
    });
    return () => {
      cancelled = true;
    };
    // `lines` changes with every version; the window is asked once per zoom.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [zoom, fetcher, byEpoch, name, xAxis, view]);

  return (
    <div
      className="series-plot"
      data-testid={testId}
      data-series={name}
      data-x-axis={xAxis}
      data-zoom={zoom ? `${zoom.from}~${zoom.to}` : undefined}
      data-resolution={windowInfo ? (windowInfo.exact ? 'full' : 'buckets') : 'live'}
      data-band={hasBand ? 'min-max' : undefined}
      data-window={windowInfo?.steps}
      data-window-points={windowInfo?.points}
    >
      {(title !== undefined || actions !== undefined) && (
        <header className="panel-header">
          {title !== undefined && <h3 className="small">{title}</h3>}
          {actions}
        </header>
      )}
      <div ref={container} className="series-chart" />
      <span ref={readout} className="series-plot-readout small" data-testid="chart-readout" />
    </div>
  );
}

export type { ZoomWindow };

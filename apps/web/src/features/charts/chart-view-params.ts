import { DEFAULT_SMOOTHING, MAX_AVERAGE_WINDOW, type Smoothing } from './smoothing';
import { isXAxisKind, type XAxisKind } from './x-axis';

/** A zoom window in the units of the page's x axis, inclusive. */
export interface ZoomWindow {
  from: number;
  to: number;
}

/**
 * What a page of charts shows, all of it in the URL so a copied link
 * reopens the same view: x axis, smoothing, scales, zoom, step cursor, and
 * which series (filter) or runs (hidden) are on screen.
 */
export interface ChartViewState {
  xAxis: XAxisKind;
  smoothing: Smoothing;
  logScale: boolean;
  ignoreOutliers: boolean;
  zoom: ZoomWindow | undefined;
  /** The step the charts mark and the image history shows. */
  cursorStep: number | undefined;
  /** Series filter of the session page (substring or glob). */
  filter: string;
  /** Runs hidden on the compare page, by session id. */
  hiddenRuns: readonly string[];
}

export const DEFAULT_CHART_VIEW: ChartViewState = {
  xAxis: 'step',
  smoothing: DEFAULT_SMOOTHING,
  logScale: false,
  ignoreOutliers: false,
  zoom: undefined,
  cursorStep: undefined,
  filter: '',
  hiddenRuns: [],
};

/** The search parameters the view owns; others (`runs`) are left alone. */
export const VIEW_PARAMS = ['x', 'smooth', 'log', 'outliers', 'zoom', 'step', 'filter', 'hide'];

function finite(text: string | null): number | undefined {
  if (text === null || text.trim() === '') return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

function readSmoothing(text: string | null): Smoothing {
  if (text === null) return DEFAULT_SMOOTHING;
  const [mode, amount] = text.split(':');
  const value = finite(amount ?? null);
  switch (mode) {
    case 'off':
      return { ...DEFAULT_SMOOTHING, mode: 'off' };
    case 'ema':
    case 'time-ema':
      return {
        ...DEFAULT_SMOOTHING,
        mode,
        weight: value === undefined ? DEFAULT_SMOOTHING.weight : Math.min(Math.max(value, 0), 0.99),
      };
    case 'average':
      return {
        ...DEFAULT_SMOOTHING,
        mode,
        window:
          value === undefined
            ? DEFAULT_SMOOTHING.window
            : Math.min(Math.max(Math.round(value), 1), MAX_AVERAGE_WINDOW),
      };
    default:
      return DEFAULT_SMOOTHING;
  }
}

function writeSmoothing(smoothing: Smoothing): string {
  switch (smoothing.mode) {
    case 'off':
      return 'off';
    case 'average':
      return `average:${smoothing.window}`;
    default:
      return `${smoothing.mode}:${smoothing.weight}`;
  }
}

/** The view a URL's search parameters describe; anything malformed is the default. */
export function readChartView(params: URLSearchParams): ChartViewState {
  const x = params.get('x') ?? '';
  const zoom = (params.get('zoom') ?? '').split('~').map((part) => finite(part));
  const [from, to] = zoom;
  return {
    xAxis: isXAxisKind(x) ? x : 'step',
    smoothing: readSmoothing(params.get('smooth')),
    logScale: params.get('log') === '1',
    ignoreOutliers: params.get('outliers') === 'ignore',
    zoom:
      zoom.length === 2 && from !== undefined && to !== undefined && to > from
        ? { from, to }
        : undefined,
    cursorStep: finite(params.get('step')),
    filter: params.get('filter') ?? '',
    hiddenRuns: (params.get('hide') ?? '').split(',').filter((id) => id !== ''),
  };
}

/** Writes `view` into `params` (defaults left out, so a plain link stays plain). */
export function writeChartView(view: ChartViewState, params: URLSearchParams): URLSearchParams {
  const set = (key: string, value: string | undefined): void => {
    if (value === undefined || value === '') params.delete(key);
    else params.set(key, value);
  };
  set('x', view.xAxis === 'step' ? undefined : view.xAxis);
  const smooth = writeSmoothing(view.smoothing);
  set('smooth', smooth === writeSmoothing(DEFAULT_SMOOTHING) ? undefined : smooth);
  set('log', view.logScale ? '1' : undefined);
  set('outliers', view.ignoreOutliers ? 'ignore' : undefined);
  // Enough digits to land on the same step or second again, no more.
  set('zoom', view.zoom && `${round(view.zoom.from)}~${round(view.zoom.to)}`);
  set('step', view.cursorStep === undefined ? undefined : String(view.cursorStep));
  set('filter', view.filter);
  set('hide', view.hiddenRuns.join(','));
  return params;
}

function round(value: number): string {
  return String(roundZoomValue(value));
}

/**
 * A zoom edge as the URL holds it (10 significant digits: the same step or
 * millisecond again), so a reopened link has exactly the zoom it was copied with.
 */
export function roundZoomValue(value: number): number {
  return Number(value.toPrecision(10));
}

/** "#/sessions/a?x=wall" → its path and search parameters. */
export function splitHash(hash: string): { path: string; params: URLSearchParams } {
  const at = hash.indexOf('?');
  return at < 0
    ? { path: hash, params: new URLSearchParams() }
    : { path: hash.slice(0, at), params: new URLSearchParams(hash.slice(at + 1)) };
}

export function joinHash(path: string, params: URLSearchParams): string {
  // Commas stay readable (`runs=a,b`): a query value may hold them as they are.
  const query = params.toString().replace(/%2C/gi, ',');
  return query === '' ? path : `${path}?${query}`;
}

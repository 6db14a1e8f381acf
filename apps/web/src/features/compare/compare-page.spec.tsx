import { create } from '@bufbuild/protobuf';
import {
  QuerySeriesResponseSchema,
  RunMetadataSchema,
  SeriesKind,
  SeriesWindowSchema,
} from '@trainwatch/proto';
import { act, fireEvent, screen, waitFor } from '@testing-library/react';
import { parseRoute, compareHref } from '../../common/use-hash-route';
import { FakeDashboard } from '../../test/fake-dashboard';
import { summary } from '../../test/fixtures';
import { renderWithServer } from '../../test/render';
import {
  alignSeries,
  COMPARE_POINTS,
  compareOpenPoints,
  compareWindowPoints,
  distinctSteps,
  MIN_COMPARE_POINTS,
  type ComparedRun,
} from './compare-data';
import { ZOOM_WINDOW_POINTS } from '../charts/window-fetcher';
import {
  COMPARE_LINE_WIDTH_PX,
  COMPARE_WIDE_LINE_MAX_RUNS,
  compareLineWidthPx,
} from './compare-chart';
import { ComparePage } from './compare-page';
import { SMOOTHED_LINE_WIDTH_PX } from '../charts/series-plot';

const window = (name: string, kind: SeriesKind, points: [number, number][]) =>
  create(SeriesWindowSchema, {
    name,
    kind,
    lastSteps: points.map(([step]) => BigInt(step)),
    lasts: points.map(([, value]) => value),
    exact: true,
  });

function setUp() {
  const fake = new FakeDashboard();
  const hyper = (lr: number) =>
    create(RunMetadataSchema, {
      hyperparameters: {
        lr: { kind: { case: 'number', value: lr } },
        optimizer: { kind: { case: 'text', value: 'adam' } },
      },
    });
  fake.sessions = [
    summary({ sessionId: 'a', name: 'first', metadata: hyper(0.1) }),
    summary({ sessionId: 'b', metadata: hyper(0.01) }),
  ];
  fake.onQuerySeries = (request) =>
    create(QuerySeriesResponseSchema, {
      series:
        request.sessionId === 'a'
          ? [
              window('loss', SeriesKind.STEP, [
                [0, 1],
                [2, 0.5],
              ]),
              window('val/acc', SeriesKind.EPOCH, [
                [0, 0.5],
                [1, 0.7],
              ]),
              window('only-a', SeriesKind.STEP, [[0, 1]]),
            ]
          : [
              window('loss', SeriesKind.STEP, [
                [1, 0.9],
                [2, 0.4],
              ]),
              window('val/acc', SeriesKind.EPOCH, [[0, 0.6]]),
            ],
    });
  renderWithServer(fake, <ComparePage sessionIds={['a', 'b']} />);
  return fake;
}

describe('ComparePage', () => {
  afterEach(() => globalThis.history.replaceState(null, '', '#/'));

  it('opens the view a link holds and reads the zoomed window of every run at full resolution', async () => {
    globalThis.history.replaceState(
      null,
      '',
      '#/compare?runs=a,b&zoom=1~2&smooth=off&x=step&hide=b',
    );
    const fake = setUp();
    const asked: { sessionId: string; names: string[]; from: bigint; to: bigint; max: number }[] =
      [];
    const answer = fake.onQuerySeries;
    fake.onQuerySeries = (request) => {
      asked.push({
        sessionId: request.sessionId,
        names: request.names,
        from: request.fromStep,
        to: request.toStep,
        max: request.maxPoints,
      });
      return answer(request);
    };
    await waitFor(() => expect(screen.getAllByTestId('compare-chart')).toHaveLength(2));
    expect((screen.getByTestId('chart-smoothing-mode') as HTMLSelectElement).value).toBe('off');
    expect(screen.getAllByTestId('compare-chart').map((chart) => chart.dataset.runs)).toEqual([
      '1',
      '1',
    ]);
    const loss = screen.getAllByTestId('compare-plot')[0]!;
    expect(loss.dataset.zoom).toBe('1~2');
    // One QuerySeries per run for the window; per-epoch series are not re-read.
    await waitFor(() =>
      expect(asked.filter((request) => request.from === 1n)).toEqual([
        { sessionId: 'a', names: ['loss'], from: 1n, to: 2n, max: compareWindowPoints(2, 1024) },
        { sessionId: 'b', names: ['loss'], from: 1n, to: 2n, max: compareWindowPoints(2, 1024) },
      ]),
    );
    await waitFor(() => expect(loss.dataset.resolution).toBe('full'));
    expect(loss.dataset.window).toBe('1-2');
  });

  it('writes the legend and controls into the URL, and follows back/forward', async () => {
    globalThis.history.replaceState(null, '', '#/compare?runs=a,b');
    setUp();
    await waitFor(() => expect(screen.getAllByTestId('compare-chart')).toHaveLength(2));
    fireEvent.click(screen.getAllByTestId('compare-legend-item')[1]!);
    fireEvent.change(screen.getByTestId('chart-x-axis'), { target: { value: 'epoch' } });
    expect(globalThis.location.hash).toBe('#/compare?runs=a,b&hide=b&x=epoch');
    // Back: the entry before the axis change.
    act(() => {
      globalThis.history.replaceState(null, '', '#/compare?runs=a,b&hide=b');
      globalThis.dispatchEvent(new PopStateEvent('popstate'));
    });
    expect((screen.getByTestId('chart-x-axis') as HTMLSelectElement).value).toBe('step');
    act(() => {
      globalThis.history.replaceState(null, '', '#/compare?runs=a,b');
      globalThis.dispatchEvent(new PopStateEvent('popstate'));
    });
    expect(screen.getAllByTestId('compare-chart').map((chart) => chart.dataset.runs)).toEqual([
      '2',
      '2',
    ]);
  });

  it('overlays every shared series, marks differing hyperparameters, and lists epochs side by side', async () => {
    const fake = setUp();
    await waitFor(() => expect(screen.getAllByTestId('compare-chart')).toHaveLength(2));
    // Both runs' summaries (names, hyperparameters) in one ListSessions call.
    expect(fake.listQueries).toEqual([{ text: '', tags: [], sessionIds: ['a', 'b'] }]);
    const charts = screen.getAllByTestId('compare-chart');
    expect(charts.map((chart) => chart.dataset.series)).toEqual(['loss', 'val/acc']);
    // Two runs keep the session page's wide smoothed lines.
    expect(charts[0]?.dataset.lineWidth).toBe(String(SMOOTHED_LINE_WIDTH_PX));
    // Steps 0, 1, 2 from both runs on one axis.
    expect(charts[0]?.dataset.points).toBe('3');
    const rows = screen.getAllByTestId('compare-hyperparameter');
    expect(rows.map((row) => [row.dataset.key, row.dataset.differs])).toEqual([
      ['lr', 'true'],
      ['optimizer', 'false'],
    ]);
    expect(screen.getByRole('link', { name: 'first' }).getAttribute('href')).toBe('#/sessions/a');
    const epochs = screen.getByTestId('compare-epoch-table');
    expect(epochs.textContent).toContain('0.7000');
    expect(epochs.textContent).toContain('—');
    // Epoch indexes 0 and 1 are the first and second epochs, counted from 1 as on the session page.
    expect([...epochs.querySelectorAll('tbody th')].map((header) => header.textContent)).toEqual([
      '1',
      '2',
    ]);
    // A legend toggle hides the run on every chart.
    fireEvent.click(screen.getAllByTestId('compare-legend-item')[1]!);
    await waitFor(() =>
      expect(screen.getAllByTestId('compare-chart').map((chart) => chart.dataset.runs)).toEqual([
        '1',
        '1',
      ]),
    );
  });

  it('round-trips the selected runs in the URL', () => {
    expect(parseRoute(compareHref(['a', 'b/c']))).toEqual({
      page: 'compare',
      sessionIds: ['a', 'b/c'],
    });
  });

  it('aligns runs on the union of their steps', () => {
    const run = (points: [number, number][]): ComparedRun => ({
      sessionId: 'x',
      summary: undefined,
      series: new Map([['loss', window('loss', SeriesKind.STEP, points)]]),
    });
    expect(
      alignSeries(
        [
          run([
            [0, 1],
            [2, 2],
          ]),
          run([[1, 3]]),
        ],
        'loss',
      ),
    ).toEqual([
      [0, 1, 2],
      [1, null, 2],
      [null, 3, null],
    ]);
  });
});

describe('compareWindowPoints', () => {
  it('gives each run its share of a zoomed chart, within the single-run bounds', () => {
    expect(compareWindowPoints(1, 1280)).toBe(ZOOM_WINDOW_POINTS);
    expect(compareWindowPoints(2, 1280)).toBe(6400);
    expect(compareWindowPoints(4, 1280)).toBe(3200);
    // Twenty runs: what the page opened with, a bucket per two pixels.
    expect(compareWindowPoints(20, 1280)).toBe(compareOpenPoints(1280));
    expect(compareWindowPoints(20, 3840)).toBe(COMPARE_POINTS);
    expect(compareWindowPoints(0, 1280)).toBe(ZOOM_WINDOW_POINTS);
    expect(compareWindowPoints(20, 100)).toBe(640);
  });
});

describe('compareOpenPoints', () => {
  it('asks a bucket per two pixels of page width on open, within its bounds', () => {
    expect(compareOpenPoints(1280)).toBe(640);
    expect(compareOpenPoints(3840)).toBe(COMPARE_POINTS);
    expect(compareOpenPoints(100)).toBe(MIN_COMPARE_POINTS);
    expect(compareOpenPoints(Number.NaN)).toBe(MIN_COMPARE_POINTS);
  });

  it('counts the distinct steps of a series over every run', () => {
    const run = (points: [number, number][]): ComparedRun => ({
      sessionId: 'x',
      summary: undefined,
      series: new Map([['loss', window('loss', SeriesKind.STEP, points)]]),
    });
    const runs = [
      run([
        [0, 1],
        [2, 2],
      ]),
      run([
        [1, 3],
        [2, 4],
      ]),
    ];
    expect(distinctSteps(runs, 'loss')).toBe(3);
    expect(distinctSteps(runs, 'absent')).toBe(0);
  });
});

describe('compareLineWidthPx', () => {
  it('draws the smoothed lines of a few runs wide and of many runs as hairlines', () => {
    expect(compareLineWidthPx(2)).toBe(SMOOTHED_LINE_WIDTH_PX);
    expect(compareLineWidthPx(COMPARE_WIDE_LINE_MAX_RUNS)).toBe(SMOOTHED_LINE_WIDTH_PX);
    expect(compareLineWidthPx(COMPARE_WIDE_LINE_MAX_RUNS + 1)).toBe(COMPARE_LINE_WIDTH_PX);
    expect(compareLineWidthPx(20)).toBe(1);
  });
});

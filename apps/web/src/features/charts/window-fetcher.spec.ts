import { create } from '@bufbuild/protobuf';
import { SeriesWindowSchema, type SeriesWindow } from '@trainwatch/proto';
import {
  WINDOW_SENDS_PER_TASK,
  WindowFetcher,
  ZOOM_WINDOW_POINTS,
  type WindowRequest,
} from './window-fetcher';

function setup(maxCached = 64, windowPoints = ZOOM_WINDOW_POINTS) {
  const calls: { request: WindowRequest; signal: AbortSignal; answer: () => void }[] = [];
  const fetcher = new WindowFetcher(
    (request, signal) =>
      new Promise<SeriesWindow[]>((resolve) => {
        calls.push({
          request,
          signal,
          answer: () =>
            resolve(
              request.names.map((name) =>
                create(SeriesWindowSchema, {
                  name,
                  exact: true,
                  steps: [BigInt(request.fromStep)],
                }),
              ),
            ),
        });
      }),
    150,
    maxCached,
    windowPoints,
  );
  return { fetcher, calls };
}

describe('WindowFetcher', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('asks once per run for the zoomed window of every series, after the zoom settles', async () => {
    const { fetcher, calls } = setup();
    const loss = fetcher.fetch('run-1', 'loss', 100.4, 199.6, 1);
    const lr = fetcher.fetch('run-1', 'lr', 100.4, 199.6, 1);
    const other = fetcher.fetch('run-2', 'loss', 90, 210, 1);
    jest.advanceTimersByTime(149);
    expect(calls).toHaveLength(0);
    jest.advanceTimersByTime(1);
    expect(calls.map((call) => call.request)).toEqual([
      {
        sessionId: 'run-1',
        names: ['loss', 'lr'],
        fromStep: 100,
        toStep: 200,
        maxPoints: ZOOM_WINDOW_POINTS,
      },
      {
        sessionId: 'run-2',
        names: ['loss'],
        fromStep: 90,
        toStep: 210,
        maxPoints: ZOOM_WINDOW_POINTS,
      },
    ]);
    calls.forEach((call) => call.answer());
    expect((await loss)?.name).toBe('loss');
    expect((await lr)?.name).toBe('lr');
    expect((await other)?.steps).toEqual([90n]);
  });

  it('cancels what an older zoom still waits for', async () => {
    const { fetcher, calls } = setup();
    const first = fetcher.fetch('run-1', 'loss', 0, 500, 1);
    jest.advanceTimersByTime(150);
    const waiting = fetcher.fetch('run-1', 'lr', 0, 500, 1);
    // A second zoom before either answered.
    const second = fetcher.fetch('run-1', 'loss', 200, 300, 2);
    expect(calls[0].signal.aborted).toBe(true);
    expect(await first).toBeUndefined();
    expect(await waiting).toBeUndefined();
    // An answer for a superseded zoom is not asked for at all.
    expect(await fetcher.fetch('run-1', 'loss', 0, 500, 1)).toBeUndefined();
    jest.advanceTimersByTime(150);
    expect(calls.map((call) => [call.request.fromStep, call.request.toStep])).toEqual([
      [0, 500],
      [200, 300],
    ]);
    calls[1].answer();
    expect((await second)?.steps).toEqual([200n]);
  });

  it('on a zoom-out asks for nothing not yet sent, and lets a call under way finish', async () => {
    const { fetcher, calls } = setup();
    const sent = fetcher.fetch('run-1', 'loss', 0, 500, 1);
    jest.advanceTimersByTime(150);
    expect(calls).toHaveLength(1);
    // A drag reset before its window was asked for (within the debounce).
    const waiting = fetcher.fetch('run-1', 'loss', 200, 300, 1);
    fetcher.zoomedOut(2);
    expect(await waiting).toBeUndefined();
    jest.advanceTimersByTime(1_000);
    // Nothing more was asked, and the call under way was not aborted: its answer is kept.
    expect(calls).toHaveLength(1);
    expect(calls[0].signal.aborted).toBe(false);
    calls[0].answer();
    expect((await sent)?.steps).toEqual([0n]);
    expect(fetcher.cached).toBe(1);
    // An older zoom's request after the reset is not asked for.
    expect(await fetcher.fetch('run-1', 'loss', 200, 300, 1)).toBeUndefined();
    jest.advanceTimersByTime(150);
    expect(calls).toHaveLength(1);
  });

  it('answers a window it read before from its cache, which stays within its bound', async () => {
    const { fetcher, calls } = setup(2);
    for (const [from, generation] of [
      [0, 1],
      [10, 2],
      [20, 3],
    ]) {
      const answer = fetcher.fetch('run-1', 'loss', from, from + 5, generation);
      jest.advanceTimersByTime(150);
      calls.at(-1)?.answer();
      await answer;
    }
    expect(fetcher.cached).toBe(2);
    await fetcher.fetch('run-1', 'loss', 20, 25, 4);
    expect(calls).toHaveLength(3);
    // The oldest was dropped: asked again.
    void fetcher.fetch('run-1', 'loss', 0, 5, 5);
    jest.advanceTimersByTime(150);
    expect(calls).toHaveLength(4);
  });

  it('asks fewer points per window when the page overlays many runs', () => {
    const { fetcher, calls } = setup(64, 1000);
    void fetcher.fetch('run-1', 'loss', 0, 50_000, 1);
    jest.advanceTimersByTime(150);
    expect(calls[0]?.request.maxPoints).toBe(1000);
    expect(() => setup(64, 0)).toThrow(/windowPoints must be/);
    expect(() => setup(64, ZOOM_WINDOW_POINTS + 1)).toThrow(/windowPoints must be/);
  });

  it(`starts ${WINDOW_SENDS_PER_TASK} calls a task, and a newer zoom drops those not started`, async () => {
    const { fetcher, calls } = setup();
    const runs = Array.from({ length: 10 }, (_, i) => `run-${i}`);
    const answers = runs.map((run) => fetcher.fetch(run, 'loss', 0, 100, 1));
    jest.advanceTimersByTime(150);
    expect(calls).toHaveLength(WINDOW_SENDS_PER_TASK);
    jest.advanceTimersByTime(1);
    expect(calls).toHaveLength(2 * WINDOW_SENDS_PER_TASK);
    // Zoomed again before the last two started: they are never asked.
    void fetcher.fetch('run-0', 'loss', 10, 20, 2);
    jest.advanceTimersByTime(1);
    expect(calls.slice(0, 8).every((call) => call.signal.aborted)).toBe(true);
    expect(calls.filter((call) => call.request.fromStep === 0)).toHaveLength(8);
    expect(await Promise.all(answers)).toEqual(runs.map(() => undefined));
  });
});

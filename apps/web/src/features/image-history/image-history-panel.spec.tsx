import { create } from '@bufbuild/protobuf';
import { GetImageFramesResponseSchema } from '@trainwatch/proto';
import { act, fireEvent, screen, waitFor } from '@testing-library/react';
import { FakeDashboard } from '../../test/fake-dashboard';
import { imageFrame, snapshot } from '../../test/fixtures';
import { manualFrames } from '../../test/manual-frames';
import { renderWithServer } from '../../test/render';
import { SessionStore } from '../session/store/session-store';
import { FrameCache, PREFETCH_AHEAD, prefetchWindow } from './frame-cache';
import { ChartPageProvider, useChartPage } from '../charts/chart-view-context';
import type { ChartView } from '../charts/chart-view';
import { ImageHistoryPanel, nearestIndex, PREFETCH_RADIUS } from './image-history-panel';

/** Stored frames at steps 10, 20, ... 200; odd tens hold a wrong prediction. */
const STORED = Array.from({ length: 20 }, (_, index) => 10 * (index + 1));

function serve(fake: FakeDashboard) {
  fake.onGetImageFrames = (request) => {
    const steps = STORED.filter((step) => !request.wrongOnly || (step / 10) % 2 === 1);
    const from = Number(request.fromStep);
    const to = request.toStep === 0n ? Infinity : Number(request.toStep);
    const inWindow = steps.filter((step) => step >= from && step <= to);
    const around = request.aroundStep === undefined ? from : Number(request.aroundStep);
    const chosen = [...inWindow]
      .sort((a, b) => Math.abs(a - around) - Math.abs(b - around) || a - b)
      .slice(0, request.maxFrames || 8)
      .sort((a, b) => a - b);
    return create(GetImageFramesResponseSchema, {
      frames: chosen.map((step) => imageFrame(step, 2)),
      frameSteps: inWindow.map(BigInt),
    });
  };
}

function setUp(withPage = false) {
  const frames = manualFrames();
  const store = new SessionStore({ schedule: frames.schedule, now: () => 0 });
  store.apply(snapshot(0n, [0]));
  act(() => {
    frames.flush();
  });
  const fake = new FakeDashboard();
  serve(fake);
  const panel = <ImageHistoryPanel sessionId="run-1" store={store} />;
  let view: ChartView | undefined;
  function Grab() {
    view = useChartPage().view;
    return null;
  }
  renderWithServer(
    fake,
    withPage ? (
      <ChartPageProvider>
        <Grab />
        {panel}
      </ChartPageProvider>
    ) : (
      panel
    ),
  );
  return Object.assign(fake, { view: () => view as ChartView });
}

const shownStep = () => screen.getByTestId('image-history-step').getAttribute('data-shown-step');

describe('ImageHistoryPanel', () => {
  afterEach(() => globalThis.history.replaceState(null, '', '#/'));

  it('shows the stored frame nearest the page step cursor, and its slider moves the cursor', async () => {
    // A link with a step cursor between two stored frames (30 and 40).
    globalThis.history.replaceState(null, '', '#/sessions/run-1?step=37');
    const page = setUp(true);
    await waitFor(() => expect(shownStep()).toBe('40'));
    // A click on a chart moves the cursor: the panel follows.
    act(() => page.view().update({ cursorStep: 151 }));
    await waitFor(() => expect(shownStep()).toBe('150'));
    expect(globalThis.location.hash).toBe('#/sessions/run-1?step=151');
    // The slider moves the charts' cursor.
    fireEvent.change(screen.getByTestId('image-history-slider'), { target: { value: '4' } });
    expect(page.view().state.cursorStep).toBe(50);
    await waitFor(() => expect(shownStep()).toBe('50'));
    // At the end it follows the newest frame again, with no cursor.
    fireEvent.change(screen.getByTestId('image-history-slider'), { target: { value: '19' } });
    expect(page.view().state.cursorStep).toBeUndefined();
  });

  it('follows the step hovered on a chart once the pointer rests, without moving the cursor', async () => {
    globalThis.history.replaceState(null, '', '#/sessions/run-1?step=37');
    const page = setUp(true);
    await waitFor(() => expect(shownStep()).toBe('40'));
    const before = page.imageFrameRequests.length;
    // A sweep across a chart: only the step the pointer rests on is asked for.
    act(() => {
      for (let step = 0; step <= 200; step += 2) page.view().hover(step);
      page.view().hover(151);
    });
    await waitFor(() => expect(shownStep()).toBe('150'));
    expect(page.imageFrameRequests.length - before).toBe(1);
    expect(Number(page.imageFrameRequests.at(-1)?.aroundStep)).toBe(150);
    expect(screen.getByTestId('image-history-panel').getAttribute('data-hover-step')).toBe('151');
    expect(page.view().state.cursorStep).toBe(37);
    expect(globalThis.location.hash).toBe('#/sessions/run-1?step=37');
    // Off the charts: back at the cursor.
    act(() => page.view().hover(undefined));
    await waitFor(() => expect(shownStep()).toBe('40'));
    // The slider wins over a pointer resting on a chart.
    act(() => page.view().hover(101));
    await waitFor(() => expect(shownStep()).toBe('100'));
    fireEvent.change(screen.getByTestId('image-history-slider'), { target: { value: '2' } });
    await waitFor(() => expect(shownStep()).toBe('30'));
    expect(page.view().state.cursorStep).toBe(30);
  });

  it('finds the nearest stored step', () => {
    expect(nearestIndex([10, 20, 40], 0)).toBe(0);
    expect(nearestIndex([10, 20, 40], 15)).toBe(0);
    expect(nearestIndex([10, 20, 40], 31)).toBe(2);
    expect(nearestIndex([10, 20, 40], 99)).toBe(2);
  });

  it('starts at the newest stored frame and scrubs with prefetched neighbours', async () => {
    const fake = setUp();
    await waitFor(() => expect(shownStep()).toBe('200'));
    expect(screen.getByTestId('image-history-count').textContent).toBe('20 stored frames');
    // The filter and the count read apart, not "...only20 stored frames".
    expect(screen.getByTestId('image-history-count').parentElement?.textContent?.trim()).toBe(
      'frames with a wrong prediction only · 20 stored frames',
    );
    const slider = screen.getByTestId('image-history-slider');
    fireEvent.change(slider, { target: { value: '9' } });
    await waitFor(() => expect(shownStep()).toBe('100'));
    const asked = fake.imageFrameRequests.at(-1);
    expect(Number(asked?.aroundStep)).toBe(100);
    expect(Number(asked?.fromStep)).toBe(100 - 10 * PREFETCH_RADIUS);
    // A neighbour shows at once, from the cache; the window ahead is fetched meanwhile.
    fireEvent.change(slider, { target: { value: '10' } });
    expect(shownStep()).toBe('110');
    await waitFor(() => expect(Number(fake.imageFrameRequests.at(-1)?.aroundStep)).toBe(110));
  });

  it('says so at a step whose stored frame the server could not read, instead of the previous picture', async () => {
    const fake = setUp();
    // The store lost the frame of step 100 (a damaged file): answers leave it out.
    const served = fake.onGetImageFrames;
    fake.onGetImageFrames = (request) => {
      const answer = served(request);
      answer.frames = answer.frames.filter((frame) => frame.step !== 100n);
      return answer;
    };
    await waitFor(() => expect(shownStep()).toBe('200'));
    const slider = screen.getByTestId('image-history-slider');
    fireEvent.change(slider, { target: { value: '9' } });
    expect((await screen.findByTestId('image-history-unreadable')).textContent).toContain(
      'No frame for step 100: the store could not read it back',
    );
    expect(screen.getByTestId('image-history-step').textContent).toBe('100');
    expect(screen.queryAllByTestId('image-tile-canvas')).toHaveLength(0);
    // Its neighbours show as ever.
    fireEvent.change(slider, { target: { value: '10' } });
    await waitFor(() => expect(shownStep()).toBe('110'));
    expect(screen.queryByTestId('image-history-unreadable')).toBeNull();
    expect(screen.getAllByTestId('image-tile-canvas').length).toBeGreaterThan(0);
  });

  it('keeps its tiles while scrubbing: each frame is painted over the last, never a blank grid', async () => {
    setUp();
    await waitFor(() => expect(shownStep()).toBe('200'));
    const tiles = screen.getAllByTestId('image-tile-canvas');
    expect(tiles).toHaveLength(2);
    const slider = screen.getByTestId('image-history-slider');
    // A neighbour (held) and a jump (asked for): the grid stays on screen in between.
    fireEvent.change(slider, { target: { value: '18' } });
    expect(screen.getAllByTestId('image-tile-canvas')).toEqual(tiles);
    fireEvent.change(slider, { target: { value: '9' } });
    expect(screen.getAllByTestId('image-tile-canvas')).toEqual(tiles);
    await waitFor(() => expect(shownStep()).toBe('100'));
    const after = screen.getAllByTestId('image-tile-canvas');
    after.forEach((tile, index) => expect(tile).toBe(tiles[index]));
  });

  it('asks the server for wrong predictions only', async () => {
    const fake = setUp();
    await waitFor(() => expect(shownStep()).toBe('200'));
    fireEvent.click(screen.getByTestId('image-history-wrong-only'));
    await waitFor(() =>
      expect(screen.getByTestId('image-history-count').textContent).toBe('10 stored frames'),
    );
    await waitFor(() => expect(shownStep()).toBe('190'));
    expect(fake.imageFrameRequests.at(-1)?.wrongOnly).toBe(true);
  });
});

describe('prefetchWindow', () => {
  it('asks only when a neighbour is missing, only the missing span', () => {
    const cache = new FrameCache(4);
    const steps = [1, 2, 3, 4, 5];
    expect(prefetchWindow(steps, 2, 0, cache, 1)).toEqual({ from: 2, to: 4, around: 3, frames: 3 });
    for (const step of [2, 3, 4]) cache.put(imageFrame(step, 1));
    expect(prefetchWindow(steps, 2, 0, cache, 1)).toBeUndefined();
    cache.put(imageFrame(1, 1));
    expect(prefetchWindow(steps, 1, 0, cache, 1)).toBeUndefined();
    cache.put(imageFrame(5, 1));
    // Bounded: the least recently used went.
    expect(cache.size).toBe(4);
    expect(cache.has(2)).toBe(false);
  });

  it('reaches ahead in the direction of travel and asks again before the cursor runs out', () => {
    const cache = new FrameCache(64);
    const steps = Array.from({ length: 60 }, (_, i) => i * 10);
    const half = PREFETCH_AHEAD / 2;
    // Moving left from index 40: the frames ahead (lower steps) up to PREFETCH_AHEAD away.
    const first = prefetchWindow(steps, 40, -1, cache, 4);
    expect(first).toEqual({
      from: (40 - PREFETCH_AHEAD) * 10,
      to: 440,
      around: 400,
      frames: PREFETCH_AHEAD + 5,
    });
    for (let at = 40 - PREFETCH_AHEAD; at <= 44; at++) cache.put(imageFrame(steps[at] ?? 0, 1));
    // The next presses are served from the cache without asking...
    for (let at = 39; at >= 40 - half; at--) {
      expect(prefetchWindow(steps, at, -1, cache, 4)).toBeUndefined();
    }
    // ...until fewer than half of PREFETCH_AHEAD are held ahead: then only the missing ones.
    const at = 40 - half - 1;
    expect(prefetchWindow(steps, at, -1, cache, 4)).toEqual({
      from: (at - PREFETCH_AHEAD) * 10,
      to: (40 - PREFETCH_AHEAD - 1) * 10,
      around: at * 10,
      frames: 40 - at,
    });
  });

  it('keeps the frame it holds when an answer sends the same step again', () => {
    const cache = new FrameCache(4);
    const held = imageFrame(7, 1);
    cache.put(held);
    cache.put(imageFrame(7, 1));
    expect(cache.get(7)).toBe(held);
  });
});

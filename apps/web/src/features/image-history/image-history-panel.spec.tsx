import { create } from '@bufbuild/protobuf';
import { GetImageFramesResponseSchema } from '@trainwatch/proto';
import { act, fireEvent, screen, waitFor } from '@testing-library/react';
import { FakeDashboard } from '../../test/fake-dashboard';
import { imageFrame, snapshot } from '../../test/fixtures';
import { manualFrames } from '../../test/manual-frames';
import { renderWithServer } from '../../test/render';
import { SessionStore } from '../session/store/session-store';
import { FrameCache, missingWindow } from './frame-cache';
import { ImageHistoryPanel, PREFETCH_RADIUS } from './image-history-panel';

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

function setUp() {
  const frames = manualFrames();
  const store = new SessionStore({ schedule: frames.schedule, now: () => 0 });
  store.apply(snapshot(0n, [0]));
  act(() => {
    frames.flush();
  });
  const fake = new FakeDashboard();
  serve(fake);
  renderWithServer(fake, <ImageHistoryPanel sessionId="run-1" store={store} />);
  return fake;
}

const shownStep = () => screen.getByTestId('image-history-step').getAttribute('data-shown-step');

describe('ImageHistoryPanel', () => {
  it('starts at the newest stored frame and scrubs with prefetched neighbours', async () => {
    const fake = setUp();
    await waitFor(() => expect(shownStep()).toBe('200'));
    expect(screen.getByTestId('image-history-count').textContent).toBe('20 stored frames');
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

describe('missingWindow', () => {
  it('asks only when a neighbour is missing', () => {
    const cache = new FrameCache(4);
    const steps = [1, 2, 3, 4, 5];
    expect(missingWindow(steps, 2, 1, cache)).toEqual({ from: 2, to: 4, around: 3 });
    for (const step of [2, 3, 4]) cache.put(imageFrame(step, 1));
    expect(missingWindow(steps, 2, 1, cache)).toBeUndefined();
    for (const step of [5, 1]) cache.put(imageFrame(step, 1));
    // Bounded: the least recently used went.
    expect(cache.size).toBe(4);
    expect(cache.has(2)).toBe(false);
  });
});

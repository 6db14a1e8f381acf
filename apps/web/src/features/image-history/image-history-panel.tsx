import { ConnectError } from '@connectrpc/connect';
import type { ImageFrame } from '@trainwatch/proto';
import { memo, useCallback, useEffect, useRef, useState } from 'react';
import { useDashboardClient } from '../../common/transport-context';
import { useChartPage, useChartViewSelect } from '../charts/chart-view-context';
import { keepPredecodedOnly, predecode, releasePredecoded } from '../images/bitmap-cache';
import { MAX_IMAGES_PER_FRAME } from '../images/display-frame';
import { ImageGrid } from '../images/image-grid';
import type { PanelProps } from '../panels/panel-props';
import { useSessionSelect } from '../session/hooks/use-session-view';
import type { SessionView } from '../session/store/session-store';
import { FrameCache, prefetchWindow } from './frame-cache';
import { useHoverStep } from './use-hover-step';

/** Frames fetched on each side of the cursor, so the next arrow key shows one at once. */
export const PREFETCH_RADIUS = 4;
/**
 * GetImageFrames calls in flight at once for the frames around the shown
 * step: a pointer sweeping over a chart asks again only as answers come back,
 * and then for where it is now.
 */
export const MAX_FRAME_REQUESTS = 2;
/** Shortest time between two refreshes of the stored steps while the run adds frames. */
export const STEPS_REFRESH_MS = 2000;

const NO_CLASS_NAMES: readonly string[] = [];
const classNamesOf = (view: SessionView) => view.summary?.config?.classNames ?? NO_CLASS_NAMES;
const latestStepOf = (view: SessionView) => Number(view.latestFrame?.step ?? -1);

/** The pictures of `frames` the tiles show (the held copies: their arrays are the ones the tiles get). */
function picturesOf(frames: readonly ImageFrame[], cache: FrameCache): Uint8Array[] {
  return frames.flatMap((frame) =>
    (cache.peek(Number(frame.step))?.images ?? [])
      .slice(0, MAX_IMAGES_PER_FRAME)
      .map((image) => image.imageBytes),
  );
}

/** `frames` by distance from `step`, nearest first (decoded ahead in that order). */
function nearestFirst(frames: readonly ImageFrame[], step: number): ImageFrame[] {
  return [...frames].sort(
    (a, b) => Math.abs(Number(a.step) - step) - Math.abs(Number(b.step) - step),
  );
}

/** Index of the stored step nearest `step` (steps ascending, not empty). */
export function nearestIndex(steps: readonly number[], step: number): number {
  let low = 0;
  let high = steps.length - 1;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (steps[middle] < step) low = middle + 1;
    else high = middle;
  }
  return low > 0 && step - steps[low - 1] <= steps[low] - step ? low - 1 : low;
}

/**
 * The stored image frames of a run, scrubbed with a slider (arrow keys move
 * one stored frame; Home/End). Frames come from GetImageFrames around the
 * cursor, PREFETCH_RADIUS on each side, and stay in a bounded cache. "Wrong
 * only" asks the server for frames holding a wrong prediction. Follows the
 * newest frame while the cursor is at the end.
 *
 * The page's step cursor is shared with the charts: a click on a chart shows
 * the stored frame nearest that step, and moving the slider moves the
 * charts' cursor (back at the end, the panel follows the newest frame again
 * and the cursor is cleared). Hovering a chart shows the frame nearest the
 * hovered step (at most every 60 ms, useHoverStep), without moving the
 * cursor or the URL; leaving the charts, or using the slider, goes back to it.
 */
export const ImageHistoryPanel = memo(function ImageHistoryPanel({ sessionId, store }: PanelProps) {
  const client = useDashboardClient();
  const names = useSessionSelect(store, classNamesOf);
  const latestStep = useSessionSelect(store, latestStepOf);
  const { view } = useChartPage();
  const cursorStep = useChartViewSelect(view, (state) => state.cursorStep);
  const hoverStep = useHoverStep(view);
  /** The hovered step the slider was used at: the slider wins until the pointer moves on. */
  const [dismissedHover, setDismissedHover] = useState<number>();
  const [wrongOnly, setWrongOnly] = useState(false);
  const [steps, setSteps] = useState<number[]>([]);
  const [index, setIndex] = useState(0);
  const [following, setFollowing] = useState(true);
  const [shown, setShown] = useState<ImageFrame>();
  const [error, setError] = useState<string>();
  /**
   * Stored steps whose frame an answer left out although it was asked for
   * (the server could not read it back: a damaged or missing file; or,
   * while the run goes on, retention thinned it since the steps were read):
   * the step says so instead of leaving the previous frame on screen.
   */
  const [unreadable, setUnreadable] = useState<ReadonlySet<number>>(new Set());
  const cache = useRef(new FrameCache()).current;
  const lastRefresh = useRef(0);
  const pending = useRef(new Set<string>());

  // Which filter an answer was asked for: an answer for an older one is dropped.
  const query = useRef(0);
  useEffect(() => {
    query.current += 1;
    return () => {
      query.current += 1;
    };
  }, [sessionId, wrongOnly]);

  // The steps of every stored frame (matching the filter), again as the run adds frames.
  useEffect(() => {
    const asked = query.current;
    const cancelled = () => query.current !== asked;
    const wait = Math.max(0, lastRefresh.current + STEPS_REFRESH_MS - Date.now());
    const timer = setTimeout(() => {
      lastRefresh.current = Date.now();
      client
        .getImageFrames({ sessionId, maxFrames: 1, wrongOnly })
        .then((answer) => {
          if (cancelled()) return;
          setError(undefined);
          for (const frame of answer.frames) cache.put(frame);
          setSteps(answer.frameSteps.map(Number));
        })
        .catch((failure: unknown) => {
          if (!cancelled()) setError(ConnectError.from(failure).rawMessage);
        });
    }, wait);
    // A newer frame reschedules the timer, not the answer on its way.
    return () => clearTimeout(timer);
  }, [client, sessionId, wrongOnly, latestStep, cache]);

  // While following, the cursor stays on the newest stored frame.
  useEffect(() => {
    if (following && steps.length > 0) setIndex(steps.length - 1);
    else if (index >= steps.length && steps.length > 0) setIndex(steps.length - 1);
  }, [steps, following, index]);

  // The shared step cursor (a chart click, or the URL) picks the frame nearest it.
  useEffect(() => {
    if (cursorStep === undefined || steps.length === 0) return;
    const nearest = nearestIndex(steps, cursorStep);
    setFollowing(false);
    setIndex(nearest);
  }, [cursorStep, steps]);

  const hoverIndex =
    hoverStep !== undefined && hoverStep !== dismissedHover && steps.length > 0
      ? nearestIndex(steps, hoverStep)
      : undefined;
  const shownIndex = hoverIndex ?? index;
  const step = steps[shownIndex];
  const shownIndexRef = useRef(shownIndex);
  shownIndexRef.current = shownIndex;
  /** The newest frame is shown and no chart is hovered. */
  const atLiveEdge = useRef(true);
  atLiveEdge.current = following && hoverIndex === undefined;
  // Leaving the page lets go of the pictures decoded for it.
  useEffect(() => releasePredecoded, []);

  /** +1 or -1 while the cursor moves one stored frame at a time, 0 after a jump. */
  const direction = useRef(0);
  const fetchAround = useCallback(
    (at: number) => {
      const window = prefetchWindow(steps, at, direction.current, cache, PREFETCH_RADIUS);
      if (window === undefined) return;
      const key = `${window.from}-${window.to}-${String(wrongOnly)}`;
      // At the bound, the answer on its way asks again for the step shown by then.
      if (pending.current.has(key) || pending.current.size >= MAX_FRAME_REQUESTS) return;
      pending.current.add(key);
      client
        .getImageFrames({
          sessionId,
          fromStep: BigInt(window.from),
          toStep: BigInt(window.to),
          aroundStep: BigInt(window.around),
          maxFrames: window.frames,
          wrongOnly,
        })
        .then((answer) => {
          for (const frame of answer.frames) cache.put(frame);
          // Every stored step of the window was asked for (window.frames of them): one not
          // answered could not be read.
          const answered = new Set(answer.frames.map((frame) => Number(frame.step)));
          const asked = steps.filter((held) => held >= window.from && held <= window.to);
          setUnreadable((before) => {
            const changed = asked.filter((held) => answered.has(held) === before.has(held));
            if (changed.length === 0) return before;
            const after = new Set(before);
            for (const held of changed) {
              if (answered.has(held)) after.delete(held);
              else after.add(held);
            }
            return after;
          });
          if (atLiveEdge.current) {
            // Following the newest frame, the pictures decoded ahead are those a few steps back
            // (the next left arrow's), not every frame the cursor has followed past.
            const near = steps.slice(Math.max(0, at - PREFETCH_RADIUS), at + PREFETCH_RADIUS + 1);
            keepPredecodedOnly(
              picturesOf(
                near.flatMap((held) => cache.peek(held) ?? []),
                cache,
              ),
            );
          }
          // Decoded now, painted at once when the cursor reaches them.
          predecode(picturesOf(nearestFirst(answer.frames, window.around), cache));
          const current = stepRef.current;
          if (current !== undefined && cache.has(current)) setShown(cache.get(current));
        })
        .catch((failure: unknown) => setError(ConnectError.from(failure).rawMessage))
        .finally(() => {
          pending.current.delete(key);
          // The pointer moved on while this was asked (or the bound turned it away): ask for where it is.
          if (shownIndexRef.current !== at) fetchAroundRef.current(shownIndexRef.current);
        });
    },
    [client, sessionId, steps, wrongOnly, cache],
  );
  const fetchAroundRef = useRef(fetchAround);
  fetchAroundRef.current = fetchAround;
  const stepRef = useRef<number | undefined>(undefined);
  stepRef.current = step;

  const previousIndex = useRef<number | undefined>(undefined);
  useEffect(() => {
    const previous = previousIndex.current;
    previousIndex.current = shownIndex;
    if (previous !== undefined && previous !== shownIndex) {
      direction.current = Math.abs(shownIndex - previous) === 1 ? shownIndex - previous : 0;
    }
    if (step === undefined) {
      setShown(undefined);
      return;
    }
    const frame = cache.get(step);
    if (frame !== undefined) setShown(frame);
    fetchAround(shownIndex);
  }, [step, shownIndex, cache, fetchAround]);

  return (
    <section
      className="panel image-history"
      data-testid="image-history-panel"
      data-cursor-step={cursorStep}
      data-hover-step={hoverIndex === undefined ? undefined : hoverStep}
    >
      <h2>Image history</h2>
      <div className="image-history-controls small">
        <label>
          <input
            type="checkbox"
            data-testid="image-history-wrong-only"
            checked={wrongOnly}
            onChange={(event) => {
              cache.clear();
              lastRefresh.current = 0;
              setSteps([]);
              setUnreadable(new Set());
              setFollowing(true);
              setWrongOnly(event.target.checked);
            }}
          />{' '}
          frames with a wrong prediction only
        </label>
        {/* The controls sit inline: without it the filter's words ran into the count. */}
        {' · '}
        <span className="muted" data-testid="image-history-count">
          {steps.length} stored frames
        </span>
      </div>
      {error && (
        <p className="muted small" data-testid="image-history-error">
          {error}
        </p>
      )}
      {steps.length > 0 && (
        <label className="small image-history-slider">
          Step{' '}
          <output data-testid="image-history-step" data-shown-step={String(shown?.step ?? '')}>
            {step}
          </output>
          <input
            type="range"
            data-testid="image-history-slider"
            aria-label="Image step"
            min={0}
            max={steps.length - 1}
            value={shownIndex}
            onChange={(event) => {
              const next = Number(event.target.value);
              setDismissedHover(hoverStep);
              const atEnd = next === steps.length - 1;
              setFollowing(atEnd);
              setIndex(next);
              view.update({ cursorStep: atEnd ? undefined : steps[next] }, 'replace');
            }}
          />
        </label>
      )}
      {step !== undefined && unreadable.has(step) && (
        <p className="muted small" data-testid="image-history-unreadable">
          No frame for step {step}: the store could not read it back (the server&apos;s log names
          the file), or, during a run, retention thinned it since the list was read.
        </p>
      )}
      {/* Stays mounted while the cursor moves: its tiles keep their canvases and paint the next
          frame over the last one (data-shown-step says which frame is on screen). */}
      {shown !== undefined && !(step !== undefined && unreadable.has(step)) && (
        <ImageGrid frame={shown} classNames={names} />
      )}
    </section>
  );
});

import { ConnectError } from '@connectrpc/connect';
import type { ImageFrame } from '@trainwatch/proto';
import { memo, useCallback, useEffect, useRef, useState } from 'react';
import { useDashboardClient } from '../../common/transport-context';
import { ImageGrid } from '../images/image-grid';
import type { PanelProps } from '../panels/panel-props';
import { useSessionSelect } from '../session/hooks/use-session-view';
import type { SessionView } from '../session/store/session-store';
import { FrameCache, missingWindow } from './frame-cache';

/** Frames fetched on each side of the cursor, so the next arrow key shows one at once. */
export const PREFETCH_RADIUS = 4;
/** Shortest time between two refreshes of the stored steps while the run adds frames. */
export const STEPS_REFRESH_MS = 2000;

const NO_CLASS_NAMES: readonly string[] = [];
const classNamesOf = (view: SessionView) => view.summary?.config?.classNames ?? NO_CLASS_NAMES;
const latestStepOf = (view: SessionView) => Number(view.latestFrame?.step ?? -1);

/**
 * The stored image frames of a run, scrubbed with a slider (arrow keys move
 * one stored frame; Home/End). Frames come from GetImageFrames around the
 * cursor, PREFETCH_RADIUS on each side, and stay in a bounded cache. "Wrong
 * only" asks the server for frames holding a wrong prediction. Follows the
 * newest frame while the cursor is at the end.
 */
export const ImageHistoryPanel = memo(function ImageHistoryPanel({ sessionId, store }: PanelProps) {
  const client = useDashboardClient();
  const names = useSessionSelect(store, classNamesOf);
  const latestStep = useSessionSelect(store, latestStepOf);
  const [wrongOnly, setWrongOnly] = useState(false);
  const [steps, setSteps] = useState<number[]>([]);
  const [index, setIndex] = useState(0);
  const [following, setFollowing] = useState(true);
  const [shown, setShown] = useState<ImageFrame>();
  const [error, setError] = useState<string>();
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

  const step = steps[index];

  const fetchAround = useCallback(
    (at: number) => {
      const window = missingWindow(steps, at, PREFETCH_RADIUS, cache);
      if (window === undefined) return;
      const key = `${window.from}-${window.to}-${String(wrongOnly)}`;
      if (pending.current.has(key)) return;
      pending.current.add(key);
      client
        .getImageFrames({
          sessionId,
          fromStep: BigInt(window.from),
          toStep: BigInt(window.to),
          aroundStep: BigInt(window.around),
          maxFrames: 2 * PREFETCH_RADIUS + 1,
          wrongOnly,
        })
        .then((answer) => {
          for (const frame of answer.frames) cache.put(frame);
          const current = stepRef.current;
          if (current !== undefined && cache.has(current)) setShown(cache.get(current));
        })
        .catch((failure: unknown) => setError(ConnectError.from(failure).rawMessage))
        .finally(() => pending.current.delete(key));
    },
    [client, sessionId, steps, wrongOnly, cache],
  );
  const stepRef = useRef<number | undefined>(undefined);
  stepRef.current = step;

  useEffect(() => {
    if (step === undefined) {
      setShown(undefined);
      return;
    }
    const frame = cache.get(step);
    if (frame !== undefined) setShown(frame);
    fetchAround(index);
  }, [step, index, cache, fetchAround]);

  return (
    <section className="panel image-history" data-testid="image-history-panel">
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
              setFollowing(true);
              setWrongOnly(event.target.checked);
            }}
          />{' '}
          frames with a wrong prediction only
        </label>
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
            value={index}
            onChange={(event) => {
              const next = Number(event.target.value);
              setFollowing(next === steps.length - 1);
              setIndex(next);
            }}
          />
        </label>
      )}
      {shown !== undefined && Number(shown.step) === step && (
        <ImageGrid frame={shown} classNames={names} />
      )}
    </section>
  );
});

import { useEffect, useState } from 'react';
import type { ChartView } from '../charts/chart-view';

/**
 * How often the image panel takes the step hovered on a chart: sweeping
 * across a chart passes hundreds of steps a second (and a live chart that
 * rescales moves the step under a resting pointer every frame), so the panel
 * follows at most this often, always to where the pointer is by then.
 */
export const HOVER_SETTLE_MS = 60;

/**
 * The step hovered on one of the page's charts, taken at most every
 * HOVER_SETTLE_MS (the latest one); undefined as soon as the pointer leaves
 * the charts (the panel goes back to the step cursor at once).
 */
export function useHoverStep(view: ChartView, settleMs = HOVER_SETTLE_MS): number | undefined {
  const [settled, setSettled] = useState<number | undefined>(undefined);
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let latest: number | undefined;
    const unsubscribe = view.subscribeHover((step) => {
      latest = step;
      if (step === undefined) {
        if (timer !== undefined) clearTimeout(timer);
        timer = undefined;
        setSettled(undefined);
        return;
      }
      timer ??= setTimeout(() => {
        timer = undefined;
        setSettled(latest);
      }, settleMs);
    });
    return () => {
      if (timer !== undefined) clearTimeout(timer);
      unsubscribe();
    };
  }, [view, settleMs]);
  return settled;
}

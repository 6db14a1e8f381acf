import { useEffect, useState } from 'react';
import type { ChartView } from '../charts/chart-view';

/**
 * How long the pointer rests on a step before the image panel follows it:
 * sweeping across a chart passes hundreds of steps a second, and only where
 * it settles is worth a GetImageFrames.
 */
export const HOVER_SETTLE_MS = 60;

/**
 * The step hovered on one of the page's charts, once the pointer has rested
 * there HOVER_SETTLE_MS; undefined as soon as it leaves the charts (the
 * panel goes back to the step cursor at once).
 */
export function useHoverStep(view: ChartView, settleMs = HOVER_SETTLE_MS): number | undefined {
  const [settled, setSettled] = useState<number | undefined>(undefined);
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const unsubscribe = view.subscribeHover((step) => {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      if (step === undefined) setSettled(undefined);
      else timer = setTimeout(() => setSettled(step), settleMs);
    });
    return () => {
      if (timer !== undefined) clearTimeout(timer);
      unsubscribe();
    };
  }, [view, settleMs]);
  return settled;
}

import { useEffect, useRef, type RefObject } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/** Height of every chart; width follows the container. */
export const CHART_HEIGHT_PX = 260;

/**
 * Owns one uPlot instance inside `container`: created when `makeOptions`
 * changes (pass a memoised factory), resized with the container, destroyed on
 * unmount. Data goes in through the returned ref's `setData`, never through
 * React state.
 */
export function useUplot(
  container: RefObject<HTMLDivElement | null>,
  makeOptions: (width: number) => uPlot.Options,
  initialData: () => uPlot.AlignedData,
  height: number = CHART_HEIGHT_PX,
): RefObject<uPlot | null> {
  const plot = useRef<uPlot | null>(null);
  const dataRef = useRef(initialData);
  dataRef.current = initialData;

  useEffect(() => {
    const element = container.current;
    if (!element) return;
    const width = Math.max(element.clientWidth, 300);
    const chart = new uPlot(makeOptions(width), dataRef.current(), element);
    plot.current = chart;
    const observer = new ResizeObserver(() => {
      const next = Math.max(element.clientWidth, 300);
      if (next !== chart.width) chart.setSize({ width: next, height });
    });
    observer.observe(element);
    return () => {
      observer.disconnect();
      chart.destroy();
      plot.current = null;
    };
  }, [container, makeOptions, height]);

  return plot;
}

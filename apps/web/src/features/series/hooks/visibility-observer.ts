/**
 * How far outside the viewport a panel counts as visible: it gets its chart
 * a little before it scrolls in, so nobody sees an empty box.
 */
export const VISIBILITY_MARGIN = '300px 0px';
/**
 * How far outside the viewport a chart still redraws on a zoom or new data.
 * A chart of 20 compared runs costs tens of milliseconds to draw (60 paths,
 * most of it rasterising): only charts at least partly on screen do, and one
 * scrolling in draws the next frame (it shows its last drawing until then).
 */
export const CHART_DRAW_MARGIN = '0px';

type Callback = (visible: boolean) => void;

/**
 * One IntersectionObserver for every panel of the page (a thousand panels
 * would otherwise mean a thousand observers).
 */
class VisibilityObserver {
  private observer: IntersectionObserver | undefined;
  private readonly callbacks = new Map<Element, Callback>();

  constructor(private readonly margin: string) {}

  observe(element: Element, callback: Callback): () => void {
    const observer = this.ensure();
    if (!observer) {
      // No IntersectionObserver (very old browser): everything is visible.
      callback(true);
      return () => undefined;
    }
    this.callbacks.set(element, callback);
    observer.observe(element);
    return () => {
      this.callbacks.delete(element);
      observer.unobserve(element);
    };
  }

  private ensure(): IntersectionObserver | undefined {
    if (this.observer) return this.observer;
    if (typeof IntersectionObserver !== 'function') return undefined;
    this.observer = new IntersectionObserver(
      (entries) => {
        for (const entry of entries) this.callbacks.get(entry.target)?.(entry.isIntersecting);
      },
      { rootMargin: this.margin },
    );
    return this.observer;
  }
}

export const visibilityObserver = new VisibilityObserver(VISIBILITY_MARGIN);
/** Whether a chart is on screen, for drawing it (SeriesPlot). */
export const chartDrawObserver = new VisibilityObserver(CHART_DRAW_MARGIN);

/**
 * What jsdom lacks and the dashboard uses: text codecs and web streams
 * (Connect), a canvas context (uPlot draws on one), object URLs (image
 * frames), matchMedia and ResizeObserver (uPlot listens to both).
 */
import { TextDecoder, TextEncoder } from 'node:util';
import { ReadableStream, TransformStream, WritableStream } from 'node:stream/web';
import { configure } from '@testing-library/dom';

const globals = globalThis as Record<string, unknown>;
globals.TextEncoder ??= TextEncoder;
globals.TextDecoder ??= TextDecoder;
globals.ReadableStream ??= ReadableStream;
globals.WritableStream ??= WritableStream;
globals.TransformStream ??= TransformStream;
globals.structuredClone ??= (value: unknown) => JSON.parse(JSON.stringify(value)) as unknown;

// A 2D context whose every method is a no-op: enough for uPlot to lay out and
// "draw" without a real canvas. Properties read back what was assigned.
function fakeContext(): CanvasRenderingContext2D {
  const state: Record<string | symbol, unknown> = {};
  return new Proxy(state, {
    get(target, key) {
      if (key in target) return target[key];
      if (key === 'measureText') return () => ({ width: 0, actualBoundingBoxAscent: 0 });
      if (key === 'getImageData') return () => ({ data: new Uint8ClampedArray(4) });
      return () => undefined;
    },
    set(target, key, value) {
      target[key] = value;
      return true;
    },
  }) as unknown as CanvasRenderingContext2D;
}
HTMLCanvasElement.prototype.getContext = function getContext() {
  return fakeContext();
} as unknown as typeof HTMLCanvasElement.prototype.getContext;

// uPlot builds its series paths as Path2D objects before stroking them.
globals.Path2D ??= class {
  moveTo(): void {}
  lineTo(): void {}
  rect(): void {}
  arc(): void {}
  closePath(): void {}
  bezierCurveTo(): void {}
  quadraticCurveTo(): void {}
  addPath(): void {}
};

/** Object URLs handed out and not yet revoked, so tests can check the bound. */
export const liveObjectUrls = new Set<string>();
/** Most object URLs alive at once since the last reset. */
export const objectUrlPeak = { value: 0 };
let urlCounter = 0;
URL.createObjectURL = () => {
  const url = `blob:test/${++urlCounter}`;
  liveObjectUrls.add(url);
  objectUrlPeak.value = Math.max(objectUrlPeak.value, liveObjectUrls.size);
  return url;
};
URL.revokeObjectURL = (url: string) => {
  liveObjectUrls.delete(url);
};
globals.__liveObjectUrls = liveObjectUrls;
globals.__objectUrlPeak = objectUrlPeak;

window.matchMedia ??= (query: string) =>
  ({
    matches: false,
    media: query,
    onchange: null,
    addListener: () => undefined,
    removeListener: () => undefined,
    addEventListener: () => undefined,
    removeEventListener: () => undefined,
    dispatchEvent: () => false,
  }) as MediaQueryList;

globals.ResizeObserver ??= class {
  observe(): void {}
  unobserve(): void {}
  disconnect(): void {}
};

/**
 * IntersectionObserver that reports nothing by itself: tests say which
 * elements are on screen (src/test/intersection.ts), as scrolling would.
 */
class FakeIntersectionObserver {
  static readonly live = new Set<FakeIntersectionObserver>();
  readonly targets = new Set<Element>();
  constructor(readonly callback: IntersectionObserverCallback) {
    FakeIntersectionObserver.live.add(this);
  }
  observe(target: Element): void {
    this.targets.add(target);
  }
  unobserve(target: Element): void {
    this.targets.delete(target);
  }
  disconnect(): void {
    this.targets.clear();
    FakeIntersectionObserver.live.delete(this);
  }
  takeRecords(): IntersectionObserverEntry[] {
    return [];
  }
}
globals.IntersectionObserver = FakeIntersectionObserver;
globals.__intersectionObservers = FakeIntersectionObserver.live;

/**
 * jsdom lays nothing out, so every element is 0 px tall and a virtualised
 * list would show no rows. Scroll containers marked `data-virtual-list`
 * report a 720 px view and their measured rows (`data-index`) 72 px each
 * (ten rows of the runs list in view); tests scroll them by setting
 * scrollTop and dispatching `scroll`.
 */
export const VIRTUAL_LIST_VIEW_PX = 720;
const VIRTUAL_ROW_PX = 72;
Object.defineProperty(HTMLElement.prototype, 'offsetHeight', {
  configurable: true,
  get(this: HTMLElement) {
    return this.hasAttribute('data-index') && this.closest('[data-virtual-list]') !== null
      ? VIRTUAL_ROW_PX
      : 0;
  },
});
Object.defineProperty(HTMLElement.prototype, 'clientHeight', {
  configurable: true,
  get(this: HTMLElement) {
    return this.hasAttribute('data-virtual-list') ? VIRTUAL_LIST_VIEW_PX : 0;
  },
});

// findBy* and waitFor give up after 3 s instead of 1 s: the suite shares two cores with servers
// and Chromium under `npm test`, and a lazily loaded page can take longer than 1 s to appear.
configure({ asyncUtilTimeout: 3000 });

/** Runs a callback before the next paint; returns a function that cancels it. */
export type FrameScheduler = (callback: () => void) => () => void;

/**
 * requestAnimationFrame where the page can paint; a 16 ms timer elsewhere
 * (hidden tabs throttle rAF to nothing, which is fine: nobody is looking).
 */
export const animationFrameScheduler: FrameScheduler = (callback) => {
  if (typeof requestAnimationFrame === 'function') {
    const id = requestAnimationFrame(() => callback());
    return () => cancelAnimationFrame(id);
  }
  const id = setTimeout(callback, 16);
  return () => clearTimeout(id);
};

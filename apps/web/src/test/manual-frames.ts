import type { FrameScheduler } from '../features/session/store/frame-scheduler';

/** A frame scheduler the test drives: nothing is published until `flush()`. */
export function manualFrames(): { schedule: FrameScheduler; flush: () => number } {
  let queue: (() => void)[] = [];
  return {
    schedule: (callback) => {
      queue.push(callback);
      return () => {
        queue = queue.filter((c) => c !== callback);
      };
    },
    flush: () => {
      const run = queue;
      queue = [];
      for (const callback of run) callback();
      return run.length;
    },
  };
}

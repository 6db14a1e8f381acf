import type { WatchEndpoint, WatchProtocol } from './watchers';

/** Parent → watcher process (watcher-process.ts). */
export type ToWatchers =
  | {
      kind: 'open';
      target: WatchEndpoint;
      protocol: WatchProtocol;
      sessionId: string;
      count: number;
    }
  /** Keep arrivals of batch_idx >= from (and forget earlier ones). */
  | { kind: 'record'; from: number }
  /** Send the arrivals of batch_idx < to, once complete or after drainMs. */
  | { kind: 'collect'; to: number; drainMs: number }
  | { kind: 'close' };

/** Watcher process → parent. Times are Unix ms (performance.timeOrigin + now). */
export type FromWatchers =
  | { kind: 'ready' }
  | { kind: 'error'; message: string }
  | {
      kind: 'arrivals';
      /** batch_idx, arrival, server apply (0 when unknown), flattened. */
      batches: number[];
      /** batch_idx, arrival, flattened. */
      images: number[];
      /** Arrivals not kept (over the process's bound). */
      dropped: number;
      error?: string;
    };

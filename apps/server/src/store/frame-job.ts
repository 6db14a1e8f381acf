/** One image frame row: session_id, step, epoch, batch_idx, timestamp_ms, bytes, frame. */
export type FrameRow = [string, number, number, number, number, number, Uint8Array];

/** What one commit writes of image frames: new frames, thinned ones deleted, each run's new totals. */
export interface FrameJob {
  inserts: FrameRow[];
  /** [session_id, step] of stored frames the retention policy dropped. */
  deletes: [string, number][];
  /** [stored_frames, stored_image_bytes, session_id]. */
  totals: [number, number, string][];
}

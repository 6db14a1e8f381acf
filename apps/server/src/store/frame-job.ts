import type { SegmentWrite } from './frame-files';

/** One image frame row: session_id, step, epoch, batch_idx, timestamp_ms, bytes, frame. */
export type FrameRow = [string, number, number, number, number, number, Uint8Array];

/** A frame row whose bytes are in a segment file: FrameRow (frame empty), file_segment, file_offset, file_writer. */
export type FileFrameRow = [
  string,
  number,
  number,
  number,
  number,
  number,
  Uint8Array,
  number,
  number,
  number | null,
];

/** What one commit writes of image frames: new frames, thinned ones deleted, each run's new totals. */
export interface FrameJob {
  inserts: FrameRow[];
  /** With frame files (SQLite; PostgreSQL with FRAMES_DIR): rows of frames appended to segment files (`files`) instead. */
  fileInserts: FileFrameRow[];
  /** The appends `fileInserts` point at, written before the commit's transaction. */
  files: SegmentWrite[];
  /** [session_id, step] of stored frames the retention policy dropped. */
  deletes: [string, number][];
  /** [stored_frames, stored_image_bytes, session_id]. */
  totals: [number, number, string][];
}

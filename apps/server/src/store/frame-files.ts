import { createHash } from 'node:crypto';
import { constants, readdirSync, statSync, unlinkSync } from 'node:fs';
import { mkdir, open, readdir, rm, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Logger } from '@nestjs/common';
import { SESSION_ID_PATTERN } from '@trainwatch/proto';

/**
 * Image frames of the SQLite store live in append-only segment files beside
 * the database, one folder per run; the `image_frames` row keeps the step,
 * the size and where the bytes are (segment, offset).
 *
 * Why: the retention policy (image-retention.ts) drops most frames within
 * seconds of storing them (every odd step after 256 steps, every other one
 * of the rest after 512...), yet as rows each frame was written to the WAL,
 * copied into the database by the checkpoint, then freed: at 50 trainers ×
 * 60 batches/s × 16 × 2 KB, ~96 MB/s three times over, ~40% of a core on the
 * write and checkpoint threads (the same server with frames not stored used
 * 80% of a core in all, 116-132% with them). A file append is one copy.
 *
 * Segments die whole, so nothing is ever compacted: a frame at step
 * s = 2^k × odd is kept until the newest step is recentSteps × 2^k past it,
 * so frames of one class k (the power of two dividing the step) die in step
 * order, oldest first, also when the byte budget shrinks the recent window
 * or drops the oldest frames. Each class appends to its own open segment; a
 * segment is deleted once none of its frames is stored. What is on disk
 * beyond the stored frames is at most one segment per class that is partly
 * dead, and frames replaced by a re-sent step until their segment dies.
 *
 * PostgreSQL with FRAMES_DIR keeps frames the same way in a folder every
 * replica shares. Each server process that writes there has a writer number
 * of its own (from the database), in its segments' names: a run that moves
 * to another replica is appended to in new files, so two writers never
 * write one file, whatever either remembers of the run. A segment key is
 * writer × WRITER_SEGMENTS + segment (writer 0: SQLite, names without it).
 */

/** A class's open segment is closed once it reaches this size; its next frame starts a new one. */
export const FRAME_SEGMENT_BYTES = 2 * 1024 * 1024;
/** Steps that are multiples of 2^MAX_FRAME_CLASS (and step 0) share the last class. */
export const MAX_FRAME_CLASS = 30;
const SEGMENT_SUFFIX = '.seg';
/** A run's folder is `run-<session id>` (or `run-<sha256 of it>`). */
const RUN_FOLDER_PREFIX = 'run-';
/** Segment numbers per writer: a segment key is writer × WRITER_SEGMENTS + segment number. */
export const WRITER_SEGMENTS = 2 ** 32;
/** Writer numbers stay under this, so segment keys are exact JavaScript numbers. */
export const MAX_FRAME_WRITER = 2 ** 21 - 1;
/** `<segment>.seg` (writer 0) or `<writer>-<segment>.seg`. */
const SEGMENT_NAME = /^(?:([1-9][0-9]*)-)?([0-9]+)\.seg$/;

/** The key of a stored frame's segment, from its row's file_writer and file_segment. */
export function segmentKey(writer: number | null, segment: number): number {
  return (writer ?? 0) * WRITER_SEGMENTS + segment;
}

/** file_writer (null for writer 0) and file_segment of a segment key. */
export function segmentColumns(key: number): [writer: number | null, segment: number] {
  const writer = Math.floor(key / WRITER_SEGMENTS);
  return [writer === 0 ? null : writer, key % WRITER_SEGMENTS];
}

/** How the store uses the frames folder. */
export interface FrameFilesOptions {
  /** This process's writer number (0, the default: the only writer, SQLite). */
  writer?: number;
  /**
   * A file no stored frame names is deleted by a sweep only once it is this
   * old: in a shared folder it may belong to another replica's commit under
   * way. 0 (one writer): at once.
   */
  sweepGraceMs?: number;
}

/** The power of two dividing `step` (capped): frames of one class die in step order. */
export function frameClass(step: number): number {
  if (step <= 0) return MAX_FRAME_CLASS;
  let rest = step;
  let power = 0;
  while (power < MAX_FRAME_CLASS && rest % 2 === 0) {
    rest /= 2;
    power += 1;
  }
  return power;
}

/** Frames at consecutive offsets of one segment: one positioned write. */
export type SegmentWrite = [path: string, position: number, buffers: Uint8Array[]];

/** Where a stored frame's bytes are: the segment files under `root`. */
/** A stored frame whose bytes cannot be read back whole or decoded: that frame is lost, the others are not. */
export class DamagedFrameError extends Error {
  override readonly name = 'DamagedFrameError';
}

export class FrameFiles {
  private readonly logger = new Logger('Store');

  /** Writer number of the segments this process creates. */
  readonly writer: number;
  private readonly sweepGraceMs: number;

  constructor(
    readonly root: string,
    options: FrameFilesOptions = {},
  ) {
    this.writer = options.writer ?? 0;
    this.sweepGraceMs = options.sweepGraceMs ?? 0;
    if (!Number.isSafeInteger(this.writer) || this.writer < 0 || this.writer > MAX_FRAME_WRITER) {
      throw new Error(`frame writer number ${this.writer} is outside 0-${MAX_FRAME_WRITER}`);
    }
  }

  /** The run's folder (session ids match SESSION_ID_PATTERN: no separators; anything else is hashed). */
  runDirectory(sessionId: string): string {
    const name = SESSION_ID_PATTERN.test(sessionId)
      ? sessionId
      : createHash('sha256').update(sessionId).digest('hex');
    return join(this.root, `${RUN_FOLDER_PREFIX}${name}`);
  }

  /** The file of a segment key (segmentKey). */
  segmentPath(sessionId: string, key: number): string {
    const [writer, segment] = segmentColumns(key);
    const name = writer === null ? `${segment}` : `${writer}-${segment}`;
    return join(this.runDirectory(sessionId), `${name}${SEGMENT_SUFFIX}`);
  }

  /**
   * The stored bytes of one frame, at `offset` of the segment `key` names.
   * A file shorter than its rows say (cut by a full disk or a copy made
   * wrong) rejects with DamagedFrameError; a missing one with ENOENT.
   */
  async read(sessionId: string, key: number, offset: number, length: number): Promise<Buffer> {
    const path = this.segmentPath(sessionId, key);
    const file = await open(path, 'r');
    try {
      const bytes = Buffer.allocUnsafe(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await file.read(bytes, done, length - done, offset + done);
        if (bytesRead === 0) {
          throw new DamagedFrameError(
            `image frame of ${sessionId} at offset ${offset} of ${path}: the file ends after ${done} of ${length} bytes`,
          );
        }
        done += bytesRead;
      }
      return bytes;
    } finally {
      await file.close();
    }
  }

  /**
   * Segment keys present in the run's folder; files no stored frame uses
   * (`live` lacks them: written by a commit that never happened, or left by
   * a crash between a commit and the file's deletion) are deleted, once
   * older than the sweep grace.
   */
  sweepRun(sessionId: string, live: ReadonlyMap<number, number>): number[] {
    let names: string[];
    try {
      names = readdirSync(this.runDirectory(sessionId));
    } catch {
      return [];
    }
    const keys: number[] = [];
    const recent = Date.now() - this.sweepGraceMs;
    for (const name of names) {
      const match = SEGMENT_NAME.exec(name);
      if (match === null) continue;
      const writer = match[1] === undefined ? 0 : Number(match[1]);
      const segment = Number(match[2]);
      if (writer > MAX_FRAME_WRITER || segment >= WRITER_SEGMENTS) continue;
      const key = segmentKey(writer, segment);
      keys.push(key);
      if (live.has(key)) continue;
      const path = join(this.runDirectory(sessionId), name);
      try {
        if (this.sweepGraceMs > 0 && statSync(path).mtimeMs > recent) continue;
        unlinkSync(path);
      } catch (error) {
        // Deleted meanwhile (its last frame died, or the run was deleted) is what the sweep wanted.
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
    return keys;
  }

  /**
   * Deletes segments no stored frame uses any more (after the commit that
   * dropped their last frame); resolves once they are gone, never rejects.
   */
  async release(sessionId: string, segments: readonly number[]): Promise<void> {
    await Promise.all(
      segments.map((segment) =>
        unlink(this.segmentPath(sessionId, segment)).catch((error: unknown) => {
          // Already gone (the run was deleted meanwhile) is fine; anything else is left for the next sweep.
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
            this.logger.warn(`could not delete image segment: ${String(error)}`);
          }
        }),
      ),
    );
  }

  /**
   * Appends a commit's frames (PostgreSQL: on the event loop's file
   * threads, while the commit's transaction runs), each segment's bytes
   * in one positioned write; resolves once every write is done.
   */
  async append(writes: readonly SegmentWrite[]): Promise<void> {
    await Promise.all(writes.map((write) => appendSegment(write)));
  }

  /** Deletes the run's folder and every frame in it. */
  async removeRun(sessionId: string): Promise<void> {
    await rm(this.runDirectory(sessionId), { recursive: true, force: true });
  }

  /**
   * Deletes the folders of runs the store no longer has (`storedIds` are
   * the ones it has): left by a crash between a run's rows and its folder
   * going. A folder written to within `graceMs` stays: a new run's first
   * frames are in their files before the commit that adds its row.
   * Resolves with the folders deleted.
   */
  async sweepOrphanRuns(storedIds: Iterable<string>, graceMs: number): Promise<number> {
    const kept = new Set<string>();
    for (const id of storedIds) kept.add(basename(this.runDirectory(id)));
    let names: string[];
    try {
      names = await readdir(this.root);
    } catch {
      // No frames folder yet: nothing was ever written.
      return 0;
    }
    const recent = Date.now() - graceMs;
    let removed = 0;
    for (const name of names) {
      if (!name.startsWith(RUN_FOLDER_PREFIX) || kept.has(name)) continue;
      const folder = join(this.root, name);
      if ((await newestChange(folder)) > recent) continue;
      await rm(folder, { recursive: true, force: true });
      removed += 1;
    }
    return removed;
  }
}

/** The latest modification time of a folder and the files in it (0 when it is gone). */
async function newestChange(folder: string): Promise<number> {
  try {
    let newest = (await stat(folder)).mtimeMs;
    for (const name of await readdir(folder)) {
      const changed = await stat(join(folder, name)).then(
        (info) => info.mtimeMs,
        () => 0,
      );
      newest = Math.max(newest, changed);
    }
    return newest;
  } catch {
    return 0;
  }
}

async function appendSegment([path, position, buffers]: SegmentWrite): Promise<void> {
  const flags = constants.O_WRONLY | constants.O_CREAT;
  let file;
  try {
    file = await open(path, flags, 0o644);
  } catch (error) {
    // The run's first segment: its folder comes first.
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    await mkdir(dirname(path), { recursive: true });
    file = await open(path, flags, 0o644);
  }
  try {
    let at = position;
    let rest = buffers;
    while (rest.length > 0) {
      let { bytesWritten } = await file.writev(rest, at);
      at += bytesWritten;
      // A short write: skip what went out and go on with the rest.
      while (rest.length > 0 && bytesWritten >= (rest[0] as Uint8Array).byteLength) {
        bytesWritten -= (rest[0] as Uint8Array).byteLength;
        rest = rest.slice(1);
      }
      if (bytesWritten > 0)
        rest = [(rest[0] as Uint8Array).subarray(bytesWritten), ...rest.slice(1)];
    }
  } finally {
    await file.close();
  }
}

/** A run's segments as the store writer knows them between commits. */
export class RunSegments {
  /** Stored frames per segment. */
  readonly live = new Map<number, number>();
  /** The segment each class appends to, and its end. */
  readonly open = new Map<number, OpenSegment>();
  /** The segments in `open`. */
  readonly openSegments = new Set<number>();
  /** Number of the next new segment. */
  next = 0;
  /** File paths of the segments written to since the run was loaded, until they die. */
  private readonly paths = new Map<number, string>();

  /** The segment's file path, built once per segment rather than once per commit that appends to it. */
  pathOf(files: FrameFiles, sessionId: string, segment: number): string {
    let path = this.paths.get(segment);
    if (path === undefined) {
      path = files.segmentPath(sessionId, segment);
      this.paths.set(segment, path);
    }
    return path;
  }

  /** Forgets the paths of segments that are gone. */
  forgetPaths(segments: readonly number[]): void {
    for (const segment of segments) this.paths.delete(segment);
  }

  /**
   * From the segment keys of the run's stored frames (null: a frame stored
   * in its row); cleans the folder of files no frame uses. New frames go to
   * new segments of this process's writer: a segment written before a
   * restart, or by another writer, is never appended to.
   */
  static load(
    files: FrameFiles,
    sessionId: string,
    storedSegments: Iterable<number | null>,
  ): RunSegments {
    const run = new RunSegments();
    const first = files.writer * WRITER_SEGMENTS;
    run.next = first;
    const mine = (key: number) => {
      if (key >= first && key < first + WRITER_SEGMENTS) run.next = Math.max(run.next, key + 1);
    };
    for (const key of storedSegments) {
      if (key === null) continue;
      run.live.set(key, (run.live.get(key) ?? 0) + 1);
      mine(key);
    }
    for (const key of files.sweepRun(sessionId, run.live)) mine(key);
    return run;
  }
}

/** A class's segment being appended to, and where its next frame goes. */
export interface OpenSegment {
  segment: number;
  end: number;
}

/**
 * What one commit does to a run's segments; applied once the commit
 * succeeded. Copy on write: only the classes this commit appends to get a
 * slot of their own (a commit touches a few of a run's ~20 classes).
 */
export class SegmentChanges {
  /** Slots of the classes this commit appended to, as they end up. */
  private readonly changed = new Map<number, OpenSegment>();
  /** Segments a class stopped appending to in this commit (full: it moved on to a new one). */
  private readonly closed: number[] = [];
  private next: number;
  /** Change of each segment's stored frame count. */
  private readonly delta = new Map<number, number>();
  /** Appends per segment, in order. */
  private readonly appends = new Map<number, { position: number; buffers: Uint8Array[] }>();

  constructor(
    private readonly files: FrameFiles,
    private readonly sessionId: string,
    private readonly run: RunSegments,
    private readonly segmentBytes = FRAME_SEGMENT_BYTES,
  ) {
    this.next = run.next;
  }

  /** A stored frame goes (dropped or replaced); -1 = it was stored in its row. */
  remove(segment: number): void {
    if (segment >= 0) this.delta.set(segment, (this.delta.get(segment) ?? 0) - 1);
  }

  /** Places a new frame; returns its segment and offset. */
  append(step: number, bytes: Uint8Array): { segment: number; offset: number } {
    const kind = frameClass(step);
    let slot = this.changed.get(kind);
    if (slot === undefined) {
      const held = this.run.open.get(kind);
      if (held !== undefined) {
        slot = { segment: held.segment, end: held.end };
        this.changed.set(kind, slot);
      }
    }
    if (slot === undefined || slot.end >= this.segmentBytes) {
      if (slot !== undefined) this.closed.push(slot.segment);
      slot = { segment: this.next++, end: 0 };
      this.changed.set(kind, slot);
    }
    const offset = slot.end;
    slot.end += bytes.byteLength;
    let append = this.appends.get(slot.segment);
    if (append === undefined)
      this.appends.set(slot.segment, (append = { position: offset, buffers: [] }));
    append.buffers.push(bytes);
    this.delta.set(slot.segment, (this.delta.get(slot.segment) ?? 0) + 1);
    return { segment: slot.segment, offset };
  }

  /** The file writes this commit needs before its transaction. */
  writes(): SegmentWrite[] {
    return [...this.appends].map(([segment, { position, buffers }]) => [
      this.run.pathOf(this.files, this.sessionId, segment),
      position,
      buffers,
    ]);
  }

  /**
   * After the commit: the run's new state; deletes the segments left without
   * frames (resolves once they are gone; the writer does not wait for it).
   */
  apply(): Promise<void> {
    const run = this.run;
    for (const [kind, slot] of this.changed) {
      const held = run.open.get(kind);
      if (held !== undefined) run.openSegments.delete(held.segment);
      run.open.set(kind, slot);
      run.openSegments.add(slot.segment);
    }
    run.next = this.next;
    // Segments this commit changed, and those it closed (they may have lost their last frame earlier).
    const dead: number[] = [];
    const consider = (segment: number) => {
      if (!run.live.has(segment) && !run.openSegments.has(segment) && !dead.includes(segment)) {
        dead.push(segment);
      }
    };
    for (const [segment, change] of this.delta) {
      const count = (run.live.get(segment) ?? 0) + change;
      if (count > 0) run.live.set(segment, count);
      else run.live.delete(segment);
    }
    // An open segment stays while its class may append to it (a finished run's are swept at its next load).
    for (const segment of this.closed) consider(segment);
    for (const segment of this.delta.keys()) consider(segment);
    run.forgetPaths(dead);
    return this.files.release(this.sessionId, dead);
  }
}

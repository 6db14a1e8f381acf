import {
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
  writevSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  FrameFiles,
  frameClass,
  MAX_FRAME_CLASS,
  MAX_FRAME_WRITER,
  RunSegments,
  SegmentChanges,
  segmentColumns,
  segmentKey,
  WRITER_SEGMENTS,
  type SegmentWrite,
} from './frame-files';
import { RECENT_FRAME_STEPS } from './image-retention';
import { planRetention, RunFrames } from './retention-plan';

/** What the write thread does with a commit's appends. */
function write(files: readonly SegmentWrite[]): void {
  for (const [file, position, buffers] of files) {
    mkdirSync(dirname(file), { recursive: true });
    const fd = openSync(file, constants.O_WRONLY | constants.O_CREAT);
    writevSync(fd, buffers, position);
    closeSync(fd);
  }
}

/** A frame's bytes: its step repeated, so a read from the wrong place shows. */
const frameBytes = (step: number, size: number) => {
  const bytes = Buffer.alloc(size);
  for (let at = 0; at + 4 <= size; at += 4) bytes.writeUInt32LE(step, at);
  return bytes;
};

const SEGMENT_BYTES = 64 * 1024;
const FRAME_BYTES = 2048;

/** Commits `steps` one frame each (three per commit) through retention and segment changes. */
async function run(
  files: FrameFiles,
  frames: RunFrames,
  segments: RunSegments,
  steps: readonly number[],
): Promise<void> {
  const policy = { recentSteps: RECENT_FRAME_STEPS, budgetBytes: Number.MAX_SAFE_INTEGER };
  for (let at = 0; at < steps.length; at += 3) {
    const incoming = steps
      .slice(at, at + 3)
      .map((step) => ({ step, bytes: FRAME_BYTES, segment: -1 }));
    const plan = planRetention(frames, incoming, policy);
    const changes = new SegmentChanges(files, 'run-a', segments, SEGMENT_BYTES);
    for (const step of plan.dropped) if (frames.has(step)) changes.remove(frames.segmentOf(step));
    for (const frame of incoming) {
      if (plan.dropped.has(frame.step)) continue;
      if (frames.has(frame.step)) changes.remove(frames.segmentOf(frame.step));
      const { segment, offset } = changes.append(frame.step, frameBytes(frame.step, FRAME_BYTES));
      frame.segment = segment;
      offsets.set(frame.step, offset);
    }
    await files.append(changes.writes());
    frames.apply(plan);
    await changes.apply();
  }
}
const offsets = new Map<number, number>();

function diskBytes(directory: string): { bytes: number; files: string[] } {
  const files = readdirSync(directory);
  return {
    bytes: files.reduce((sum, name) => sum + statSync(join(directory, name)).size, 0),
    files,
  };
}

describe('image frames in segment files', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'trainwatch-frames-'));
    offsets.clear();
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('classes frames by the power of two dividing their step', () => {
    expect([1, 2, 3, 4, 12, 1024, 0].map(frameClass)).toEqual([0, 1, 0, 2, 2, 10, MAX_FRAME_CLASS]);
    expect(frameClass(2 ** 40)).toBe(MAX_FRAME_CLASS);
  });

  it('a long run keeps every stored frame readable and its disk near what it stores', async () => {
    const files = new FrameFiles(root);
    const frames = new RunFrames();
    const segments = new RunSegments();
    const steps = Array.from({ length: 20_000 }, (_, step) => step);
    await run(files, frames, segments, steps);
    // Every stored frame is where its row says, with its bytes.
    for (const { step, segment } of frames.frames()) {
      const bytes = await files.read('run-a', segment!, offsets.get(step)!, FRAME_BYTES);
      expect(bytes.readUInt32LE(0)).toBe(step);
      expect(bytes.readUInt32LE(FRAME_BYTES - 4)).toBe(step);
    }
    // On disk: the stored frames plus at most two partly dead segments per class (the oldest closed one, the open one).
    const disk = diskBytes(files.runDirectory('run-a'));
    const classes = new Set(steps.map(frameClass)).size;
    expect(frames.count).toBeLessThan(1_200);
    expect(disk.bytes).toBeGreaterThanOrEqual(frames.bytes);
    expect(disk.bytes).toBeLessThanOrEqual(
      frames.bytes + 2 * classes * (SEGMENT_BYTES + FRAME_BYTES),
    );
    // 20,000 frames went through: without deletions that would be 40 MB.
    expect(disk.bytes).toBeLessThan(8 * 1024 * 1024);
    expect(segments.live.size).toBeLessThanOrEqual(disk.files.length);
    // Every file left holds a stored frame or is a class's open segment: no dead segment stays.
    const kept = disk.files.map((name) => Number(name.replace(/\.seg$/, '')));
    expect(kept.filter((at) => !segments.live.has(at) && !segments.openSegments.has(at))).toEqual(
      [],
    );
    expect([...segments.openSegments].sort()).toEqual(
      [...segments.open.values()].map((slot) => slot.segment).sort(),
    );
  });

  it('a segment whose frames all died while it was open goes when its class moves on', async () => {
    const files = new FrameFiles(root);
    const segments = new RunSegments();
    const commit = async (steps: number[], removed: number[]): Promise<number[]> => {
      const changes = new SegmentChanges(files, 'run-a', segments, 2 * FRAME_BYTES);
      for (const segment of removed) changes.remove(segment);
      const placed = steps.map(
        (step) => changes.append(step, frameBytes(step, FRAME_BYTES)).segment,
      );
      write(changes.writes());
      await changes.apply();
      return placed;
    };
    // Class 0 (odd steps): two frames fill its segment; both are dropped while it is still open.
    const [first] = await commit([1, 3], []);
    await commit([], [first!, first!]);
    expect(existsSync(files.segmentPath('run-a', first!))).toBe(true);
    // The class's next frame starts a new segment: the full, empty one is deleted.
    const [next] = await commit([5], []);
    expect(next).not.toBe(first);
    expect(existsSync(files.segmentPath('run-a', first!))).toBe(false);
    expect(existsSync(files.segmentPath('run-a', next!))).toBe(true);
  });

  it('after a restart: new segments, old frames still readable, files no frame uses swept', async () => {
    const files = new FrameFiles(root);
    const frames = new RunFrames();
    const segments = new RunSegments();
    await run(
      files,
      frames,
      segments,
      Array.from({ length: 3_000 }, (_, step) => step),
    );
    // A commit that wrote its frames and then never happened (the process died).
    const orphan = files.segmentPath('run-a', segments.next + 5);
    writeFileSync(orphan, frameBytes(1, FRAME_BYTES));
    const stored = frames.frames();
    const loaded = RunSegments.load(
      files,
      'run-a',
      stored.map((frame) => frame.segment ?? null),
    );
    expect(readdirSync(files.runDirectory('run-a'))).not.toContain(`${segments.next + 5}.seg`);
    expect(loaded.next).toBeGreaterThanOrEqual(segments.next);
    expect(loaded.open.size).toBe(0);
    expect([...loaded.live.values()].reduce((a, b) => a + b, 0)).toBe(frames.count);
    const restarted = RunFrames.from(stored);
    await run(
      files,
      restarted,
      loaded,
      Array.from({ length: 600 }, (_, index) => 3_000 + index),
    );
    for (const { step, segment } of restarted.frames()) {
      const bytes = await files.read('run-a', segment!, offsets.get(step)!, FRAME_BYTES);
      expect(bytes.readUInt32LE(0)).toBe(step);
    }
    expect(readFileSync(files.segmentPath('run-a', loaded.next - 1)).byteLength).toBeGreaterThan(0);
  });

  it('writers sharing a folder never write one file, and a sweep spares what another may be committing', async () => {
    const grace = 60_000;
    const first = new FrameFiles(root, { writer: 1, sweepGraceMs: grace });
    const second = new FrameFiles(root, { writer: 7, sweepGraceMs: grace });
    const frames = new RunFrames();
    const held = RunSegments.load(first, 'run-a', []);
    expect(held.next).toBe(WRITER_SEGMENTS);
    await run(
      first,
      frames,
      held,
      Array.from({ length: 2_000 }, (_, step) => step),
    );
    const names = () => readdirSync(first.runDirectory('run-a')).sort();
    expect(names().every((name) => /^1-[0-9]+\.seg$/.test(name))).toBe(true);
    // The run moves to the second writer: it counts the first one's frames and appends to files of its own.
    const stored = frames.frames();
    const moved = RunSegments.load(
      second,
      'run-a',
      stored.map((frame) => frame.segment ?? null),
    );
    expect(moved.next).toBe(7 * WRITER_SEGMENTS);
    const taken = RunFrames.from(stored);
    await run(
      second,
      taken,
      moved,
      Array.from({ length: 600 }, (_, index) => 2_000 + index),
    );
    // The first writer, not knowing, commits late with what it remembers: other files, nothing overwritten.
    const late = RunFrames.from(stored);
    await run(first, late, held, [2_000, 2_001, 2_002]);
    for (const { step, segment } of taken.frames()) {
      if (step >= 2_000 && step <= 2_002) continue;
      const bytes = await second.read('run-a', segment!, offsets.get(step)!, FRAME_BYTES);
      expect(bytes.readUInt32LE(0)).toBe(step);
    }
    expect(names().some((name) => name.startsWith('7-'))).toBe(true);
    // Files no frame names: spared while recent (another writer's commit may be under way), swept once old.
    const stray = first.segmentPath('run-a', held.next + 100);
    writeFileSync(stray, frameBytes(1, FRAME_BYTES));
    const liveKeys = taken.frames().map((frame) => frame.segment ?? null);
    RunSegments.load(second, 'run-a', liveKeys);
    expect(existsSync(stray)).toBe(true);
    const old = (Date.now() - 2 * grace) / 1000;
    utimesSync(stray, old, old);
    const reloaded = RunSegments.load(second, 'run-a', liveKeys);
    expect(existsSync(stray)).toBe(false);
    // Its own files set where it goes on; the other writer's do not.
    expect(reloaded.next).toBe(moved.next);
  });

  it('segment keys round-trip through their columns; writer numbers are bounded', () => {
    expect(segmentColumns(segmentKey(null, 42))).toEqual([null, 42]);
    expect(segmentColumns(segmentKey(MAX_FRAME_WRITER, WRITER_SEGMENTS - 1))).toEqual([
      MAX_FRAME_WRITER,
      WRITER_SEGMENTS - 1,
    ]);
    expect(Number.isSafeInteger(segmentKey(MAX_FRAME_WRITER, WRITER_SEGMENTS - 1))).toBe(true);
    expect(() => new FrameFiles(root, { writer: MAX_FRAME_WRITER + 1 })).toThrow(/outside/);
    expect(new FrameFiles(root, { writer: 3 }).segmentPath('r', segmentKey(3, 9))).toBe(
      join(root, 'run-r', '3-9.seg'),
    );
  });

  it('a deleted run leaves no folder; an unsafe id gets a folder of its own', async () => {
    const files = new FrameFiles(root);
    await run(files, new RunFrames(), new RunSegments(), [0, 1, 2]);
    await files.removeRun('run-a');
    expect(readdirSync(root)).toEqual([]);
    expect(dirname(files.runDirectory('../x'))).toBe(root);
    expect(files.runDirectory('../x')).not.toContain('..');
  });
});

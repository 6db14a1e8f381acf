import { create, toBinary } from '@bufbuild/protobuf';
import {
  encodedOnce,
  WatchSessionResponseSchema,
  type WatchSessionResponse,
} from '@trainwatch/proto';
import { Watcher } from '../fan-out/watcher';
import { encodeEnvelope } from './bus-envelope';
import { InProcessBus, InProcessHub } from './in-process-bus';
import { SessionFollow, type FollowMember } from './session-follow';

const batch = (cursor: bigint): WatchSessionResponse =>
  create(WatchSessionResponseSchema, { cursor, event: { case: 'batch', value: { step: cursor } } });
const images = (cursor: bigint): WatchSessionResponse =>
  create(WatchSessionResponseSchema, { cursor, event: { case: 'images', value: { batchIdx: 1 } } });
const snapshot = (cursor: bigint): WatchSessionResponse =>
  create(WatchSessionResponseSchema, { cursor, event: { case: 'snapshot', value: {} } });

const noHooks = {
  onLatestDropped: () => undefined,
  onOverflow: () => undefined,
  onClosed: () => undefined,
};

async function append(bus: InProcessBus, event: WatchSessionResponse): Promise<void> {
  const payload = encodeEnvelope(0n, toBinary(WatchSessionResponseSchema, event));
  await bus.append('run', payload, `run:${event.cursor}`);
}

/** Joins a watcher to the follow at `cursor` (what ReplicasService does once it has caught up). */
function joinAt(follow: SessionFollow, cursor: bigint, queueLimit = 100): Watcher {
  const member: FollowMember = { last: cursor, onGap: () => undefined };
  follow.beginJoin(member);
  follow.finishJoin(member);
  follow.hold();
  member.watcher = new Watcher('run', snapshot(cursor), queueLimit, 60_000, noHooks);
  return member.watcher;
}

/** What a watcher has queued, in order (cursor and kind), without waiting. */
async function drain(watcher: Watcher, count: number): Promise<string[]> {
  const seen: string[] = [];
  for (let index = 0; index < count; index++) {
    const event = (await watcher.next()) as WatchSessionResponse;
    seen.push(`${event.event.case}@${event.cursor}`);
  }
  return seen;
}

describe('SessionFollow', () => {
  it('one follow feeds every watcher of the session; a slow one overflows alone', async () => {
    const hub = new InProcessHub();
    const bus = new InProcessBus(hub);
    await append(bus, batch(1n));
    const follow = new SessionFollow(
      'run',
      bus,
      { maxEvents: 100, maxBytes: 1 << 20 },
      100,
      () => undefined,
    );
    await follow.ready;
    const fast = [joinAt(follow, 1n), joinAt(follow, 1n)];
    const slow = joinAt(follow, 1n, 2);
    // One follower on the bus for all three.
    expect(hub.followers.get('run')?.size).toBe(1);
    for (let cursor = 2n; cursor <= 4n; cursor++) await append(bus, batch(cursor));
    for (const watcher of fast) {
      expect(await drain(watcher, 4)).toEqual(['snapshot@1', 'batch@2', 'batch@3', 'batch@4']);
    }
    expect(slow.isClosed).toBe(true);
    expect(fast.every((watcher) => !watcher.isClosed)).toBe(true);
  });

  it('hands an image frame to a watcher with its own cursor when the frame is ahead of it', async () => {
    const bus = new InProcessBus(new InProcessHub());
    await append(bus, batch(1n));
    const follow = new SessionFollow(
      'run',
      bus,
      { maxEvents: 100, maxBytes: 1 << 20 },
      100,
      () => undefined,
    );
    await follow.ready;
    const watcher = joinAt(follow, 1n);
    // The owner broadcast the frame of batch 2 before batch 2 reached the log.
    bus.broadcast('run', toBinary(WatchSessionResponseSchema, images(2n)));
    expect(await drain(watcher, 2)).toEqual(['snapshot@1', 'images@1']);
  });

  it("hands watchers events whose encoding is the owner's bytes, not a second encode", async () => {
    const bus = new InProcessBus(new InProcessHub());
    await append(bus, batch(1n));
    const follow = new SessionFollow(
      'run',
      bus,
      { maxEvents: 100, maxBytes: 1 << 20 },
      100,
      () => undefined,
    );
    await follow.ready;
    const watcher = joinAt(follow, 1n);
    // Bytes no encoder would write (the cursor field twice; the last one wins on decode), so
    // finding them as the event's encoding shows they were taken, not made again.
    const owners = (event: WatchSessionResponse): Uint8Array => {
      const canonical = toBinary(WatchSessionResponseSchema, event);
      const cursorAgain = toBinary(
        WatchSessionResponseSchema,
        create(WatchSessionResponseSchema, { cursor: event.cursor }),
      );
      return Buffer.concat([canonical, cursorAgain]);
    };
    const logged = owners(batch(2n));
    await bus.append('run', encodeEnvelope(0n, logged), 'run:2');
    const frame = owners(images(2n));
    bus.broadcast('run', frame);
    await watcher.next(); // the snapshot
    const batchEvent = (await watcher.next()) as WatchSessionResponse;
    const frameEvent = (await watcher.next()) as WatchSessionResponse;
    expect(batchEvent.event.case).toBe('batch');
    expect(Buffer.from(encodedOnce(WatchSessionResponseSchema, batchEvent))).toEqual(
      Buffer.from(logged),
    );
    expect(frameEvent.event.case).toBe('images');
    expect(Buffer.from(encodedOnce(WatchSessionResponseSchema, frameEvent))).toEqual(
      Buffer.from(frame),
    );
  });

  it('stops following with its last hold', async () => {
    const hub = new InProcessHub();
    const bus = new InProcessBus(hub);
    let idle = 0;
    const follow = new SessionFollow(
      'run',
      bus,
      { maxEvents: 100, maxBytes: 1 << 20 },
      100,
      () => (idle += 1),
    );
    await follow.ready;
    follow.hold();
    follow.hold();
    follow.release();
    expect(follow.isClosed).toBe(false);
    follow.release();
    expect(follow.isClosed).toBe(true);
    expect(idle).toBe(1);
    expect(hub.followers.has('run')).toBe(false);
  });
});

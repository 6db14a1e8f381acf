import { create } from '@bufbuild/protobuf';
import { status } from '@grpc/grpc-js';
import { WatchSessionResponseSchema, type WatchSessionResponse } from '@trainwatch/proto';
import { AppError } from '../common/app-error';
import { Watcher, type WatcherHooks } from './watcher';

const batch = (cursor: bigint, batchIdx = Number(cursor)): WatchSessionResponse =>
  create(WatchSessionResponseSchema, { cursor, event: { case: 'batch', value: { batchIdx } } });
const images = (cursor: bigint, batchIdx: number): WatchSessionResponse =>
  create(WatchSessionResponseSchema, { cursor, event: { case: 'images', value: { batchIdx } } });
const snapshot = (cursor: bigint) =>
  create(WatchSessionResponseSchema, { cursor, event: { case: 'snapshot', value: {} } });

function hooks(): WatcherHooks & { dropped: number; overflows: number; closed: number } {
  const counts = { dropped: 0, overflows: 0, closed: 0 };
  return Object.assign(counts, {
    onLatestDropped: () => (counts.dropped += 1),
    onOverflow: () => (counts.overflows += 1),
    onClosed: () => (counts.closed += 1),
  });
}

describe('Watcher', () => {
  it('holds exactly queueLimit scalar events; one more closes it with RESOURCE_EXHAUSTED', async () => {
    const counts = hooks();
    const watcher = new Watcher('s', snapshot(0n), 4, 60_000, counts);
    for (let cursor = 1n; cursor <= 3n; cursor++) watcher.pushLossless(batch(cursor));
    expect(watcher.queuedScalars).toBe(4);
    expect(watcher.isClosed).toBe(false);
    watcher.pushLossless(batch(4n));
    expect(watcher.isClosed).toBe(true);
    expect(counts.overflows).toBe(1);
    expect(counts.closed).toBe(1);
    await expect(watcher.next()).rejects.toMatchObject({ code: status.RESOURCE_EXHAUSTED });
    await expect(watcher.next()).rejects.toBeInstanceOf(AppError);
  });

  it('delivers scalars in order; image frames are latest-wins and never run ahead of their scalars', async () => {
    const counts = hooks();
    const watcher = new Watcher('s', snapshot(0n), 100, 60_000, counts);
    watcher.pushLossless(batch(1n));
    watcher.offerLatest('images', [images(1n, 1)]);
    watcher.pushLossless(batch(2n));
    watcher.offerLatest('images', [images(2n, 2)]);
    watcher.pushLossless(batch(3n));
    const seen: string[] = [];
    for (let index = 0; index < 5; index++) {
      const event = await watcher.next();
      seen.push(`${event?.event.case}:${event?.cursor}`);
    }
    expect(seen).toEqual(['snapshot:0', 'batch:1', 'batch:2', 'images:2', 'batch:3']);
    expect(counts.dropped).toBe(1);
  });

  it('sends a keepalive with the last delivered cursor when idle, and wakes for a new event', async () => {
    const watcher = new Watcher('s', snapshot(7n), 10, 30, hooks());
    expect((await watcher.next())?.cursor).toBe(7n);
    const keepalive = await watcher.next();
    expect(keepalive?.event.case).toBe('keepalive');
    expect(keepalive?.cursor).toBe(7n);
    const pending = watcher.next();
    watcher.pushLossless(batch(8n));
    expect((await pending)?.cursor).toBe(8n);
  });

  it('a clean close ends a waiting next() with undefined and drops what was queued', async () => {
    const counts = hooks();
    const watcher = new Watcher('s', snapshot(0n), 10, 60_000, counts);
    await watcher.next();
    const pending = watcher.next();
    watcher.close();
    await expect(pending).resolves.toBeUndefined();
    watcher.pushLossless(batch(1n));
    expect(watcher.queuedScalars).toBe(0);
    watcher.close();
    expect(counts.closed).toBe(1);
  });

  it('hands out the event waiting now without waiting, in the same order as next()', async () => {
    const watcher = new Watcher('s', snapshot(0n), 10, 30, hooks());
    await watcher.next();
    expect(watcher.nextIfReady()).toBeUndefined();
    watcher.pushLossless(batch(1n));
    watcher.offerLatest('images', [images(1n, 1)]);
    expect((await watcher.next())?.event.case).toBe('batch');
    expect(watcher.nextIfReady()?.event.case).toBe('images');
    expect(watcher.nextIfReady()).toBeUndefined();
    watcher.pushLossless(batch(2n));
    watcher.close();
    expect(watcher.nextIfReady()).toBeUndefined();
  });
});

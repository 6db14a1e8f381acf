import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { DashboardService, TrainingStatus } from '@trainwatch/proto';
import { waitFor } from '@trainwatch/testing';
import {
  batch,
  imageFrame,
  imagesEvent,
  keepalive,
  snapshot,
  statusEvent,
} from '../../../test/fixtures';
import { FakeDashboard } from '../../../test/fake-dashboard';
import { manualFrames } from '../../../test/manual-frames';
import { SessionStore } from '../store/session-store';
import { reconnectDelayMs, RECONNECT_MAX_DELAY_MS, runWatchLoop } from './watch-loop';

function setup() {
  const fake = new FakeDashboard();
  const frames = manualFrames();
  const store = new SessionStore({ schedule: frames.schedule });
  const client = createClient(DashboardService, fake.transport);
  const abort = new AbortController();
  const done = runWatchLoop(client, 'run-1', store, abort.signal, { delayMs: () => 1 });
  const view = () => {
    frames.flush();
    return store.getView();
  };
  return { fake, store, abort, done, view };
}

describe('runWatchLoop', () => {
  it('applies the snapshot and live deltas and goes live', async () => {
    const { fake, abort, done, view } = setup();
    fake.stream(0).push(snapshot(1n, [0, 1]));
    fake.stream(0).push(batch(2n, 2));
    fake.stream(0).push(imagesEvent(2n, imageFrame(2, 3)));
    await waitFor(() => view().latestFrame !== undefined, { what: 'image frame' });
    expect(view().link.kind).toBe('live');
    expect(Array.from(view().loss?.xs ?? [])).toEqual([0, 1, 2]);
    expect(fake.watchRequests).toEqual(['run-1']);
    abort.abort();
    await done;
    expect(view().link.kind).toBe('live');
  });

  it('says it is reconnecting after an error, then continues the curve without duplicates', async () => {
    const { fake, abort, done, view } = setup();
    fake.stream(0).push(snapshot(1n, [0, 1]));
    fake.stream(0).push(batch(2n, 2));
    await waitFor(() => view().loss?.length === 3, { what: 'first points' });
    fake.stream(0).fail(new ConnectError('connection reset', Code.Unavailable));
    await waitFor(() => view().link.kind === 'reconnecting', { what: 'reconnecting state' });
    const link = view().link;
    expect(link.kind === 'reconnecting' && link.reason).toBe('server unreachable');

    // The restarted server's history overlaps what we drew and adds step 3.
    fake.stream(1).push(snapshot(50n, [1, 2, 3]));
    fake.stream(1).push(batch(51n, 4));
    await waitFor(() => view().loss?.length === 5, { what: 'merged points' });
    expect(Array.from(view().loss?.xs ?? [])).toEqual([0, 1, 2, 3, 4]);
    expect(view().link.kind).toBe('live');
    expect(fake.watchRequests).toHaveLength(2);
    abort.abort();
    await done;
  });

  it('resumes a broken stream from its last cursor: the missed events follow without a snapshot', async () => {
    const { fake, abort, done, view } = setup();
    fake.stream(0).push(snapshot(1n, [0, 1]));
    fake.stream(0).push(batch(2n, 2));
    await waitFor(() => view().loss?.length === 3, { what: 'first points' });
    fake.stream(0).fail(new ConnectError('connection reset', Code.Unavailable));
    await waitFor(() => fake.watchRequests.length === 2, { what: 'second watch' });
    fake.stream(1).push(keepalive(2n));
    fake.stream(1).push(batch(3n, 3));
    fake.stream(1).push(batch(4n, 4));
    await waitFor(() => view().loss?.length === 5, { what: 'missed points' });
    expect(Array.from(view().loss?.xs ?? [])).toEqual([0, 1, 2, 3, 4]);
    expect(view().link.kind).toBe('live');
    // The first watch asks for a snapshot; the second for the events after cursor 2.
    expect(fake.resumeCursors).toEqual([0n, 2n]);
    abort.abort();
    await done;
  });

  it('asks for a snapshot again after a stream broke the cursor rules', async () => {
    const { fake, abort, done, view } = setup();
    fake.stream(0).push(snapshot(1n, [0]));
    fake.stream(0).push(batch(5n, 1)); // skips cursors 2-4
    fake.stream(1).push(snapshot(5n, [0, 1]));
    await waitFor(() => fake.watchRequests.length === 2 && view().loss?.length === 2, {
      what: 'second stream',
    });
    expect(fake.resumeCursors).toEqual([0n, 0n]);
    abort.abort();
    await done;
  });

  it('treats RESOURCE_EXHAUSTED (too slow) and a cursor gap as reasons to resubscribe', async () => {
    const { fake, abort, done, view } = setup();
    fake.stream(0).push(snapshot(1n, [0]));
    fake.stream(0).fail(new ConnectError('watcher too slow', Code.ResourceExhausted));
    fake.stream(1).push(snapshot(5n, [0, 1]));
    fake.stream(1).push(batch(9n, 2)); // skips cursors 6-8
    fake.stream(2).push(snapshot(9n, [0, 1, 2]));
    await waitFor(() => fake.watchRequests.length === 3 && view().loss?.length === 3, {
      what: 'third stream',
    });
    expect(Array.from(view().loss?.xs ?? [])).toEqual([0, 1, 2]);
    abort.abort();
    await done;
  });

  it('reconnects when the server ends the stream of a run still going, and stops for a finished one', async () => {
    const { fake, done, view } = setup();
    fake.stream(0).push(snapshot(1n, [0]));
    fake.stream(0).end();
    fake.stream(1).push(snapshot(1n, [0]));
    fake.stream(1).push(statusEvent(2n, TrainingStatus.COMPLETED));
    fake.stream(1).end();
    await done;
    expect(fake.watchRequests).toHaveLength(2);
    expect(view().link.kind).toBe('ended');
  });

  it('gives up with a message on NOT_FOUND', async () => {
    const { fake, done, view } = setup();
    fake.stream(0).fail(new ConnectError('no session run-1', Code.NotFound));
    await done;
    expect(view().link).toEqual({ kind: 'not-found', reason: 'no session run-1' });
    expect(fake.watchRequests).toHaveLength(1);
  });

  it('keeps trying on NOT_FOUND for a session it has seen (server restarted, trainer not back yet)', async () => {
    const { fake, abort, done, view } = setup();
    fake.stream(0).push(snapshot(1n, [0, 1]));
    fake.stream(0).fail(new ConnectError('server going away', Code.Unavailable));
    fake.stream(1).fail(new ConnectError('no session run-1', Code.NotFound));
    fake.stream(2).push(snapshot(1n, [1, 2]));
    await waitFor(() => view().loss?.length === 3, { what: 'points after the trainer rejoined' });
    expect(view().link.kind).toBe('live');
    expect(fake.watchRequests).toHaveLength(3);
    abort.abort();
    await done;
  });

  it('ends quietly when aborted, cancelling the stream', async () => {
    const { fake, abort, done, view } = setup();
    fake.stream(0).push(snapshot(1n, [0]));
    await waitFor(() => view().link.kind === 'live', { what: 'live' });
    abort.abort();
    await done;
    await waitFor(() => fake.cancelled === 1, { what: 'server saw the cancel' });
    expect(fake.watchRequests).toHaveLength(1);
  });

  it('backs off exponentially up to a cap', () => {
    expect([0, 1, 2, 3].map(reconnectDelayMs)).toEqual([250, 500, 1000, 2000]);
    expect(reconnectDelayMs(20)).toBe(RECONNECT_MAX_DELAY_MS);
  });
});

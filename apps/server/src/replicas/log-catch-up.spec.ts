import { create, toBinary } from '@bufbuild/protobuf';
import { WatchSessionResponseSchema, type WatchSessionResponse } from '@trainwatch/proto';
import { encodeEnvelope } from './bus-envelope';
import { InProcessBus, InProcessHub } from './in-process-bus';
import { readLogAfter } from './log-catch-up';
import { DEFAULT_REPLICA_BUS_LIMITS } from './replica-bus';

const KEPT = 20;
const bounds = { maxEvents: 100, timeoutMs: 1000 };

function batch(cursor: number): WatchSessionResponse {
  return create(WatchSessionResponseSchema, {
    cursor: BigInt(cursor),
    event: { case: 'batch', value: { step: BigInt(cursor) } },
  });
}

function snapshot(cursor: number): WatchSessionResponse {
  return create(WatchSessionResponseSchema, {
    cursor: BigInt(cursor),
    event: { case: 'snapshot', value: {} },
  });
}

/** A bus keeping KEPT events per session, with `events` appended to session `run`; the last position. */
async function logOf(events: WatchSessionResponse[]): Promise<{ bus: InProcessBus; last: bigint }> {
  const bus = new InProcessBus(
    new InProcessHub({ ...DEFAULT_REPLICA_BUS_LIMITS, maxEventsPerSession: KEPT }),
  );
  let last = 0n;
  for (const [index, event] of events.entries()) {
    const payload = encodeEnvelope(0n, toBinary(WatchSessionResponseSchema, event));
    last = (await bus.append('run', payload, `run:${index}`)).position;
  }
  return { bus, last };
}

const cursors = (events: WatchSessionResponse[] | undefined): number[] | undefined =>
  events?.map((event) => Number(event.cursor));
const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, index) => from + index);

describe('readLogAfter', () => {
  it('gives every event after a cursor the log still holds, up to the point', async () => {
    const { bus, last } = await logOf(range(1, 30).map(batch));
    expect(cursors(await readLogAfter(bus, 'run', 15n, last, bounds))).toEqual(range(16, 30));
    // The oldest kept is 11: a cursor of 10 is just resumable.
    expect(cursors(await readLogAfter(bus, 'run', 10n, last, bounds))).toEqual(range(11, 30));
  });

  it('gives nothing back for a cursor older than the log keeps', async () => {
    const { bus, last } = await logOf(range(1, 30).map(batch));
    expect(await readLogAfter(bus, 'run', 9n, last, bounds)).toBeUndefined();
  });

  it('gives nothing back when the owner started over with a snapshot after the cursor', async () => {
    const { bus, last } = await logOf([batch(1), batch(2), snapshot(9), batch(10)]);
    expect(await readLogAfter(bus, 'run', 1n, last, bounds)).toBeUndefined();
    expect(cursors(await readLogAfter(bus, 'run', 9n, last, bounds))).toEqual([10]);
  });

  it('gives nothing back past its bound on events, or for an empty log', async () => {
    const { bus, last } = await logOf(range(1, 10).map(batch));
    expect(await readLogAfter(bus, 'run', 1n, last, { ...bounds, maxEvents: 5 })).toBeUndefined();
    const empty = await logOf([]);
    expect(await readLogAfter(empty.bus, 'run', 1n, empty.last, bounds)).toBeUndefined();
  });
});

import { create } from '@bufbuild/protobuf';
import {
  ErrorCode,
  MetricsRequestSchema,
  SessionInfoSchema,
  type MetricsRequest,
  type MetricsResponse,
} from '@trainwatch/proto';
import { CommandsService } from '../commands/commands.service';
import { loadServerConfig } from '../config/server-config';
import { SessionEventBus } from '../events/event-bus';
import { FanOutService } from '../fan-out/fan-out.service';
import { HistoryService } from '../history/history.service';
import { LatestImagesService } from '../images/latest-images.service';
import { MetricsService } from '../metrics/metrics.service';
import { SessionsService } from '../sessions/sessions.service';
import { IngestService } from './ingest.service';

function setup() {
  const settings = loadServerConfig({});
  const metrics = new MetricsService();
  const bus = new SessionEventBus();
  const fanOut = new FanOutService(settings, metrics, bus);
  const sessions = new SessionsService(settings, fanOut, metrics, bus);
  const commands = new CommandsService(settings, sessions, bus, metrics);
  const images = new LatestImagesService(settings, sessions, fanOut, metrics, bus);
  new HistoryService(bus);
  const ingest = new IngestService(settings, sessions, commands, metrics, bus);
  ingest.register(
    create(SessionInfoSchema, {
      sessionId: 's',
      config: { totalEpochs: 1, batchesPerEpoch: 10, batchSize: 1 },
    }),
  );
  const session = sessions.get('s');
  /** Applies a message whose listeners are all synchronous: the responses come back at once. */
  const apply = (request: MetricsRequest, now?: number): MetricsResponse[] => {
    const responses = ingest.apply(session, request, now);
    if (!Array.isArray(responses)) throw new Error('expected the responses at once');
    return responses;
  };
  return { ingest, session, metrics, bus, images, apply };
}

const batch = (sequence: bigint, batchIdx: number): MetricsRequest =>
  create(MetricsRequestSchema, {
    sessionId: 's',
    sequence,
    payload: { case: 'batchData', value: { batchIdx, batchLoss: 1 } },
  });

describe('IngestService', () => {
  it('applies each sequence once and acknowledges replays as duplicates', () => {
    const { apply, session, metrics } = setup();
    for (let index = 0; index < 3; index++) apply(batch(BigInt(index + 1), index));
    const replay = apply(batch(2n, 1));
    expect(replay).toHaveLength(1);
    expect(replay[0]?.payload).toMatchObject({
      case: 'ack',
      value: { sequence: 2n, duplicate: true, success: true },
    });
    expect(session.batchesReceived).toBe(3n);
    expect(session.lastSequence).toBe(3n);
    expect(metrics.duplicateMessages).toBe(1);
  });

  it('a rejected message still advances the sequence, so its replay is a duplicate, not a second error', () => {
    const { apply } = setup();
    const bad = create(MetricsRequestSchema, {
      sessionId: 's',
      sequence: 1n,
      payload: { case: 'batchData', value: { batchIdx: 0, batchSize: -1 } },
    });
    expect(apply(bad).map((response) => response.payload.case)).toEqual(['error', 'ack']);
    expect(apply(bad).map((response) => response.payload.case)).toEqual(['ack']);
  });

  it('sequence 0 means no replay protection: applied as it comes, acked by batch_idx; heartbeats answer nothing', () => {
    const { apply, session } = setup();
    const first = apply(batch(0n, 3));
    expect(first.map((response) => response.payload)).toEqual([
      expect.objectContaining({
        case: 'ack',
        value: expect.objectContaining({ sequence: 0n, batchIdx: 3, success: true }),
      }),
    ]);
    expect(session.batchesReceived).toBe(1n);
    expect(session.lastSequence).toBe(0n);
    const heartbeat = create(MetricsRequestSchema, {
      sessionId: 's',
      payload: { case: 'heartbeat', value: { sequenceNumber: 1n } },
    });
    expect(apply(heartbeat)).toEqual([]);
  });

  it('SEQUENCE_GAP for a jump past the buffer bound leaves lastSequence where it was', () => {
    const { apply, session } = setup();
    apply(batch(1n, 0), 1000);
    const jump = apply(batch(1n << 62n, 1), 1000);
    expect(jump.map((response) => response.payload.case)).toEqual(['error', 'ack']);
    expect(jump[0]?.payload.value).toMatchObject({ code: ErrorCode.SEQUENCE_GAP });
    expect(session.lastSequence).toBe(1n);
    expect(session.position).toEqual({ epoch: 0, batchIdx: 0 });
    expect(apply(batch(2n, 1), 1000)[0]?.payload.value).toMatchObject({
      success: true,
      duplicate: false,
    });
  });

  it("holds the ack until an asynchronous listener of the message's events finishes (the store's seam)", async () => {
    const { ingest, session, bus } = setup();
    let commit: () => void = () => undefined;
    bus.on('batch.applied', () => new Promise<void>((resolve) => (commit = resolve)));
    const responses = ingest.apply(session, batch(1n, 0));
    expect(Array.isArray(responses)).toBe(false);
    // Applied at once (watchers see it live); only the ack waits.
    expect(session.batchesReceived).toBe(1n);
    let acked = false;
    void Promise.resolve(responses).then(() => (acked = true));
    await Promise.resolve();
    expect(acked).toBe(false);
    commit();
    const [ack] = await responses;
    expect(ack?.payload).toMatchObject({ case: 'ack', value: { sequence: 1n, success: true } });
  });

  it('a message with a bad metric name or too many series is rejected whole and changes nothing', () => {
    const { apply, session } = setup();
    const named = (sequence: bigint, batchIdx: number, metrics: Record<string, number>) =>
      create(MetricsRequestSchema, {
        sessionId: 's',
        sequence,
        payload: { case: 'batchData', value: { batchIdx, batchLoss: 1, metrics } },
      });
    expect(
      apply(named(1n, 0, { lr: 0.1, grad_norm: Number.NaN })).map((r) => r.payload.case),
    ).toEqual(['ack']);
    expect(session.series.get('grad_norm')?.toMessage().values).toEqual([Number.NaN]);
    const bad = apply(named(2n, 1, { ok: 1, 'bad name': 2 }));
    expect(bad[0]?.payload.value).toMatchObject({
      code: ErrorCode.INVALID_ARGUMENT,
      message: expect.stringContaining('"bad name"'),
    });
    const loss = apply(named(3n, 1, { loss: 2 }));
    expect(loss[0]?.payload.value).toMatchObject({ message: expect.stringContaining('"loss"') });
    expect(session.series.get('ok')).toBeUndefined();
    expect(session.position).toEqual({ epoch: 0, batchIdx: 0 });
    expect(session.batchesReceived).toBe(1n);
  });
});

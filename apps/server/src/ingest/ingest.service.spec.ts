import { create } from '@bufbuild/protobuf';
import {
  ErrorCode,
  MetricsRequestSchema,
  SessionInfoSchema,
  type MetricsRequest,
} from '@trainwatch/proto';
import { CommandsService } from '../commands/commands.service';
import { loadServerConfig } from '../config/server-config';
import { FanOutService } from '../fan-out/fan-out.service';
import { MetricsService } from '../metrics/metrics.service';
import { SessionsService } from '../sessions/sessions.service';
import { IngestService } from './ingest.service';

function setup() {
  const settings = loadServerConfig({});
  const metrics = new MetricsService();
  const fanOut = new FanOutService(settings, metrics);
  const sessions = new SessionsService(settings, fanOut, metrics);
  const commands = new CommandsService(settings, sessions, fanOut, metrics);
  const ingest = new IngestService(settings, sessions, fanOut, commands, metrics);
  ingest.register(
    create(SessionInfoSchema, {
      sessionId: 's',
      config: { totalEpochs: 1, batchesPerEpoch: 10, batchSize: 1 },
    }),
  );
  const session = sessions.get('s');
  return { ingest, session, metrics };
}

const batch = (sequence: bigint, batchIdx: number): MetricsRequest =>
  create(MetricsRequestSchema, {
    sessionId: 's',
    sequence,
    payload: { case: 'batchData', value: { batchIdx, batchLoss: 1 } },
  });

describe('IngestService', () => {
  it('applies each sequence once and acknowledges replays as duplicates', () => {
    const { ingest, session, metrics } = setup();
    for (let index = 0; index < 3; index++) ingest.apply(session, batch(BigInt(index + 1), index));
    const replay = ingest.apply(session, batch(2n, 1));
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
    const { ingest, session } = setup();
    const bad = create(MetricsRequestSchema, {
      sessionId: 's',
      sequence: 1n,
      payload: { case: 'batchData', value: { batchIdx: 0, batchLoss: Number.NaN } },
    });
    expect(ingest.apply(session, bad).map((response) => response.payload.case)).toEqual([
      'error',
      'ack',
    ]);
    expect(ingest.apply(session, bad).map((response) => response.payload.case)).toEqual(['ack']);
  });

  it('sequence 0 means no replay protection: applied as it comes, acked by batch_idx; heartbeats answer nothing', () => {
    const { ingest, session } = setup();
    const first = ingest.apply(session, batch(0n, 3));
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
    expect(ingest.apply(session, heartbeat)).toEqual([]);
  });

  it('SEQUENCE_GAP for a jump past the buffer bound leaves lastSequence where it was', () => {
    const { ingest, session } = setup();
    ingest.apply(session, batch(1n, 0), 1000);
    const jump = ingest.apply(session, batch(1n << 62n, 1), 1000);
    expect(jump.map((response) => response.payload.case)).toEqual(['error', 'ack']);
    expect(jump[0]?.payload.value).toMatchObject({ code: ErrorCode.SEQUENCE_GAP });
    expect(session.lastSequence).toBe(1n);
    expect(session.position).toEqual({ epoch: 0, batchIdx: 0 });
    expect(ingest.apply(session, batch(2n, 1), 1000)[0]?.payload.value).toMatchObject({
      success: true,
      duplicate: false,
    });
  });
});

import { Duplex } from 'node:stream';
import { create } from '@bufbuild/protobuf';
import { Metadata, status, type ServerDuplexStream } from '@grpc/grpc-js';
import {
  MetricsResponseSchema,
  type MetricsRequest,
  type MetricsResponse,
} from '@trainwatch/proto';
import { TRAINER_RESPONSE_SLACK } from '../common/limits';
import { Session } from '../sessions/session';
import type { IngestService } from './ingest.service';
import { TrainerStream } from './trainer-stream';

/**
 * A duplex whose peer never reads: every write stays queued, as on an
 * HTTP/2 stream whose window the trainer never opens.
 */
class StuckCall extends Duplex {
  readonly statuses: unknown[] = [];
  readonly metadata = new Metadata();
  getPeer(): string {
    return '127.0.0.1:1';
  }
  constructor() {
    super({ objectMode: true, highWaterMark: 16 });
    this.on('error', (error) => this.statuses.push(error));
  }
  override _read(): void {}
  override _write(_chunk: unknown, _encoding: string, _callback: () => void): void {}
}

function ingestWith(responsesPerMessage: number) {
  const session = new Session('s', 0, { lossHistoryPoints: 16, commandAuditSize: 4 });
  const ack = create(MetricsResponseSchema, {
    sessionId: 's',
    payload: { case: 'ack', value: {} },
  });
  const ingest = {
    openStreams: new Set(),
    attach: () => session,
    restore: () => undefined,
    detach: jest.fn(),
    apply: () => Array<MetricsResponse>(responsesPerMessage).fill(ack),
    acknowledged: () => undefined,
  };
  return { ingest: ingest as unknown as IngestService, detach: ingest.detach };
}

describe('TrainerStream', () => {
  it('pauses reading once the trainer stops reading responses', () => {
    const call = new StuckCall();
    const { ingest } = ingestWith(20);
    new TrainerStream(
      call as unknown as ServerDuplexStream<MetricsRequest, MetricsResponse>,
      ingest,
      10,
    ).start();
    call.emit('data', { sessionId: 's' });
    expect(call.isPaused()).toBe(true);
    expect(call.statuses).toEqual([]);
  });

  it('closes with RESOURCE_EXHAUSTED when queued responses reach buffer size + slack, not before', () => {
    const bufferSize = 10;
    const bound = bufferSize + TRAINER_RESPONSE_SLACK;
    const call = new StuckCall();
    const { ingest, detach } = ingestWith(bound);
    new TrainerStream(
      call as unknown as ServerDuplexStream<MetricsRequest, MetricsResponse>,
      ingest,
      bufferSize,
    ).start();
    call.emit('data', { sessionId: 's' });
    expect(call.writableLength).toBe(bound);
    expect(call.statuses).toEqual([]);
    call.emit('data', { sessionId: 's' });
    expect(call.writableLength).toBe(bound);
    expect(call.statuses).toEqual([expect.objectContaining({ code: status.RESOURCE_EXHAUSTED })]);
    expect(detach).toHaveBeenCalledTimes(1);
  });
});

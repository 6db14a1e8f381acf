import { create } from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import { MetricsRequestSchema, type MetricsRequest, type MetricsResponse } from '@trainwatch/proto';
import { startServerProcess, waitFor, type ServerProcess } from '@trainwatch/testing';
import { makeJpeg, register, telemetryClient } from './harness';
import { STORE_ENGINES, type TestStore } from './store-engines';

/** The run: 60 messages a second, each a batch with 16 images and named metrics. */
const MESSAGES = 150;
const INTERVAL_MS = 1000 / 60;
const IMAGE = makeJpeg(24, 24);

/**
 * A trainer that behaves like the SDKs: it keeps every message until it is
 * acknowledged, and after its stream breaks it registers again (with the
 * highest acknowledged sequence) and sends the unacknowledged ones first.
 */
class ResumingTrainer {
  readonly acked = new Set<bigint>();
  private readonly client: ReturnType<typeof telemetryClient>;
  private call: grpc.ClientDuplexStream<MetricsRequest, MetricsResponse> | undefined;
  private next = 1n;
  private timer: NodeJS.Timeout | undefined;
  private reconnecting: Promise<unknown> | undefined;
  private stopped = false;

  constructor(
    address: string,
    readonly sessionId: string,
  ) {
    this.client = telemetryClient(address);
  }

  async start(): Promise<void> {
    await this.connect();
    this.timer = setInterval(() => {
      if (this.next > BigInt(MESSAGES)) return;
      const sequence = this.next++;
      this.call?.write(this.message(sequence));
    }, INTERVAL_MS);
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.call?.end();
    this.client.close();
  }

  get highestAcked(): bigint {
    let highest = 0n;
    for (const sequence of this.acked) if (sequence > highest) highest = sequence;
    return highest;
  }

  private message(sequence: bigint): MetricsRequest {
    const index = Number(sequence) - 1;
    return create(MetricsRequestSchema, {
      sessionId: this.sessionId,
      sequence,
      timestampMs: BigInt(Date.now()),
      payload: {
        case: 'batchData',
        value: {
          epoch: 0,
          batchIdx: index,
          batchSize: 16,
          batchLoss: 1 / (index + 1),
          metrics: { accuracy: index / MESSAGES, lr: 0.001 },
          images: Array.from({ length: 16 }, () => ({
            imageBytes: IMAGE,
            format: 'jpeg',
            width: 24,
            height: 24,
            channels: 3,
          })),
          groundTruth: Array.from({ length: 16 }, () => 0),
        },
      },
    });
  }

  private async connect(): Promise<void> {
    await register(this.client, {
      sessionId: this.sessionId,
      resumeFromSequence: this.highestAcked,
      config: { totalEpochs: 1, batchesPerEpoch: MESSAGES, batchSize: 16, classNames: ['a'] },
    });
    const call = this.client['StreamMetrics'](new grpc.Metadata()) as grpc.ClientDuplexStream<
      MetricsRequest,
      MetricsResponse
    >;
    this.call = call;
    call.on('data', (response: MetricsResponse) => {
      if (response.payload.case === 'ack' && response.payload.value.success) {
        this.acked.add(response.payload.value.sequence);
      }
    });
    call.on('error', () => this.reconnect());
    call.on('end', () => this.reconnect());
    // Unacknowledged messages first, in order.
    for (let sequence = 1n; sequence < this.next; sequence++) {
      if (!this.acked.has(sequence)) call.write(this.message(sequence));
    }
  }

  private reconnect(): void {
    this.call = undefined;
    if (this.stopped) return;
    this.reconnecting ??= waitFor(
      () =>
        this.stopped ||
        this.connect().then(
          () => true,
          () => false,
        ),
      { timeoutMs: 30_000, intervalMs: 100, what: 'trainer reconnect' },
    )
      .catch(() => undefined)
      .finally(() => (this.reconnecting = undefined));
  }
}

describe.each(STORE_ENGINES)('kill -9 of the server on %s', (_name, makeFixture) => {
  const fixture = makeFixture();
  let store: TestStore;
  let server: ServerProcess | undefined;
  let trainer: ResumingTrainer | undefined;

  beforeAll(() => fixture.setUp(), 60_000);
  afterAll(() => fixture.tearDown());
  afterEach(async () => {
    trainer?.stop();
    await server?.stop();
    store.remove();
  });

  it('every acknowledged message is stored exactly once and the unacknowledged ones arrive after the trainer reconnects', async () => {
    store = await fixture.newStore();
    server = await startServerProcess({ env: store.env });
    trainer = new ResumingTrainer(server.grpcAddress, 'crash-run');
    await trainer.start();
    await waitFor(() => trainer?.acked.size !== undefined && trainer.acked.size >= MESSAGES / 3, {
      what: 'a third of the run acknowledged',
    });
    await server.kill();
    const ackedBeforeKill = new Set(trainer.acked);
    await server.start();
    await waitFor(() => trainer?.acked.size === MESSAGES, {
      timeoutMs: 30_000,
      what: `all ${MESSAGES} messages acknowledged`,
    });

    const reader = await store.open();
    try {
      const rows = await reader.db
        .selectFrom('points')
        .innerJoin('series', 'series.id', 'points.series_id')
        .select(['series.name', 'points.step'])
        .where('series.session_id', '=', 'crash-run')
        .execute();
      for (const name of ['loss', 'accuracy', 'lr']) {
        const steps = rows
          .filter((row) => row.name === name)
          .map((row) => row.step)
          .sort((a, b) => a - b);
        // Every message once: nothing acknowledged before the kill lost, nothing doubled by the replay.
        expect(steps).toEqual([...Array(MESSAGES).keys()]);
      }
      for (const sequence of ackedBeforeKill)
        expect(Number(sequence)).toBeLessThanOrEqual(MESSAGES);
      const frames = await reader.db
        .selectFrom('image_frames')
        .select('step')
        .where('session_id', '=', 'crash-run')
        .execute();
      expect(frames.map((frame) => frame.step).sort((a, b) => a - b)).toEqual([
        ...Array(MESSAGES).keys(),
      ]);
      const session = await reader.db
        .selectFrom('sessions')
        .select('last_sequence')
        .where('id', '=', 'crash-run')
        .executeTakeFirstOrThrow();
      expect(session.last_sequence).toBe(MESSAGES);
    } finally {
      await reader.close();
    }
  }, 90_000);
});

import { create } from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import { MetricsRequestSchema, type MetricsRequest, type MetricsResponse } from '@trainwatch/proto';
import { waitFor, type ServerProcess } from '@trainwatch/testing';
import type { OpenDatabase } from '../src/store/open-database';
import { makeJpeg, register, telemetryClient } from './harness';

/** The run: 60 messages a second by default, each a batch with 16 images and named metrics. */
const INTERVAL_MS = 1000 / 60;
/** The JPEG every image of the run carries. */
export const RESUMING_TRAINER_IMAGE = makeJpeg(24, 24);

/**
 * A trainer that behaves like the SDKs: it keeps every message until it is
 * acknowledged, and after its stream breaks it registers again (with the
 * highest acknowledged sequence) and sends the unacknowledged ones first.
 */
export class ResumingTrainer {
  readonly acked = new Set<bigint>();
  /** Commands received (type numbers), answered at once as done. */
  readonly commands: number[] = [];
  private client: ReturnType<typeof telemetryClient>;
  private clientAddress: string;
  private call: grpc.ClientDuplexStream<MetricsRequest, MetricsResponse> | undefined;
  private next = 1n;
  private timer: NodeJS.Timeout | undefined;
  private reconnecting: Promise<unknown> | undefined;
  private stopped = false;

  /**
   * `address` is asked again on every reconnect, so a test can send the
   * trainer to another server (as a load balancer would after a crash).
   */
  constructor(
    private readonly address: () => string,
    readonly sessionId: string,
    readonly messages = 150,
    private readonly intervalMs = INTERVAL_MS,
  ) {
    this.clientAddress = address();
    this.client = telemetryClient(this.clientAddress);
  }

  async start(): Promise<void> {
    await this.connect();
    this.timer = setInterval(() => {
      if (this.next > BigInt(this.messages)) return;
      const sequence = this.next++;
      this.call?.write(this.message(sequence));
    }, this.intervalMs);
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
          metrics: { accuracy: index / this.messages, lr: 0.001 },
          images: Array.from({ length: 16 }, () => ({
            imageBytes: RESUMING_TRAINER_IMAGE,
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
    if (this.address() !== this.clientAddress) {
      this.client.close();
      this.clientAddress = this.address();
      this.client = telemetryClient(this.clientAddress);
    }
    await register(this.client, {
      sessionId: this.sessionId,
      resumeFromSequence: this.highestAcked,
      config: { totalEpochs: 1, batchesPerEpoch: this.messages, batchSize: 16, classNames: ['a'] },
    });
    const call = this.client['StreamMetrics'](new grpc.Metadata()) as grpc.ClientDuplexStream<
      MetricsRequest,
      MetricsResponse
    >;
    this.call = call;
    call.on('data', (response: MetricsResponse) => {
      const ack = response.payload.case === 'ack' ? response.payload.value : undefined;
      // Sequence 0 acknowledges an unnumbered message (a command result), not part of the run.
      if (ack?.success === true && ack.sequence > 0n) this.acked.add(ack.sequence);
      if (response.payload.case === 'command') {
        const command = response.payload.value;
        this.commands.push(command.type);
        call.write(
          create(MetricsRequestSchema, {
            sessionId: this.sessionId,
            timestampMs: BigInt(Date.now()),
            payload: {
              case: 'commandResult',
              value: {
                commandId: command.commandId,
                success: true,
                message: 'done by the trainer',
              },
            },
          }),
        );
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

/** Throws, with its output, when the server process has exited (for waits that must not outlive it). */
export function throwIfExited(server: ServerProcess): void {
  if (server.child.exitCode !== null || server.child.signalCode !== null) {
    throw new Error(
      `the server exited (${server.child.exitCode ?? server.child.signalCode}):\n${server.output()}`,
    );
  }
}

/** The steps of a run's stored loss points, ascending (one each when nothing was doubled); closes `reader`. */
export async function storedLossSteps(reader: OpenDatabase, sessionId: string): Promise<number[]> {
  try {
    const rows = await reader.db
      .selectFrom('points')
      .innerJoin('series', 'series.id', 'points.series_id')
      .select('points.step')
      .where('series.session_id', '=', sessionId)
      .where('series.name', '=', 'loss')
      .execute();
    return rows.map((row) => Number(row.step)).sort((a, b) => a - b);
  } finally {
    await reader.close();
  }
}

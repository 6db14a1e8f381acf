import type { Client, ClientDuplexStream } from '@grpc/grpc-js';
import { create, toBinary } from '@bufbuild/protobuf';
import { CommandType, SessionInfoSchema, TrainingStatus } from '@trainwatch/proto';
import { asBuffer, identity, rawClient, sessionMetadata } from './grpc-raw';
import type { SampleBuffer } from './stats';
import type { Target } from './targets';
import {
  CLASS_NAMES,
  decodeResponse,
  encodeBatchRequest,
  encodeCommandResult,
  encodeRunningStatus,
  PATHS,
} from './wire';

/** Send times remembered per trainer, indexed by batch_idx modulo this (a power of two). */
export const SENT_AT_RING = 1 << 16;
/** Messages a load trainer lets go unacknowledged before it holds back (its own bound). */
export const MAX_UNACKED = 4096;

/** A loss that decays smoothly with a little wobble: nothing a watchdog rule fires on. */
export function decayingLoss(batchIdx: number): number {
  return 2 * Math.exp(-batchIdx / 5000) + 0.05 * Math.sin(batchIdx / 7);
}

/**
 * A synthetic trainer speaking raw bytes over grpc-js: the same bytes go to
 * the product and to the relay, so both see identical work. Batches are
 * pre-serialized except for their scalars (see encodeBatchRequest).
 */
export class LoadTrainer {
  sent = 0;
  acked = 0;
  /** Batches not sent because MAX_UNACKED were outstanding. */
  heldBack = 0;
  errors = 0;
  firstError: string | undefined;
  commandsAnswered = 0;
  private sequence = 0n;
  private batchIdx = 0;
  private readonly sentAt = new Float64Array(SENT_AT_RING);
  /** performance.now() of each message written, by send count: acks come back in send order. */
  private readonly writtenAt = new Float64Array(SENT_AT_RING);
  /** When set, every ack's send → ack latency (ms) is added here. */
  ackLatency: SampleBuffer | undefined;
  private client: Client | undefined;
  private call: ClientDuplexStream<Buffer, Buffer> | undefined;
  private closed = false;
  /** API key sent as `authorization: Bearer` on both rpcs (a server with AUTH=required). */
  apiKey: string | undefined;

  constructor(
    readonly target: Target,
    readonly sessionId: string,
    private readonly imagePart: Uint8Array,
    /** Delay before answering a command, to model a trainer finishing its batch. */
    private readonly commandDelayMs = 0,
    /** Names of the values each batch carries in BatchData.metrics (none by default). */
    private readonly metricNames: readonly string[] = [],
    /** The loss of each batch (a smooth decay by default; NaN makes the watchdog fire). */
    private readonly lossOf: (batchIdx: number) => number = decayingLoss,
  ) {}

  /** Registers the session (product; the relay answers the same call) and opens the stream. */
  async open(): Promise<void> {
    const client = rawClient(this.target.grpcAddress);
    const metadata = () => {
      const sent = sessionMetadata(this.sessionId);
      if (this.apiKey !== undefined) sent.set('authorization', `Bearer ${this.apiKey}`);
      return sent;
    };
    this.client = client;
    const info = toBinary(
      SessionInfoSchema,
      create(SessionInfoSchema, {
        sessionId: this.sessionId,
        clientName: 'trainwatch-bench',
        clientVersion: '1',
        timestampMs: BigInt(Date.now()),
        config: {
          totalEpochs: 1,
          // One endless epoch: batch_idx keeps growing and never goes backwards.
          batchesPerEpoch: 2_000_000_000,
          batchSize: 32,
          modelName: 'bench',
          datasetName: 'noise',
          classNames: CLASS_NAMES,
        },
      }),
    );
    await new Promise<void>((resolve, reject) =>
      client.makeUnaryRequest(
        PATHS.register,
        asBuffer,
        identity,
        asBuffer(info),
        metadata(),
        {
          deadline: Date.now() + 10_000,
        },
        (error) => (error ? reject(error) : resolve()),
      ),
    );
    const call = client.makeBidiStreamRequest(PATHS.streamMetrics, asBuffer, identity, metadata());
    this.call = call;
    call.on('data', (bytes: Buffer) => this.onResponse(bytes));
    call.on('error', (error: Error) => {
      if (!this.closed) this.noteError(`stream failed: ${error.message}`);
    });
    this.write(encodeRunningStatus(this.sessionId, this.nextSequence()));
  }

  /** Sends one batch unless MAX_UNACKED are outstanding; returns whether it was sent. */
  sendBatch(): boolean {
    if (this.sent - this.acked >= MAX_UNACKED) {
      this.heldBack++;
      return false;
    }
    const batchIdx = this.batchIdx++;
    const now = Date.now();
    this.sentAt[batchIdx & (SENT_AT_RING - 1)] = performance.now();
    this.write(
      encodeBatchRequest(
        {
          sessionId: this.sessionId,
          sequence: this.nextSequence(),
          epoch: 0,
          batchIdx,
          loss: this.lossOf(batchIdx),
          timestampMs: now,
          metrics: this.metricNames.map((name, i) => [name, Math.sin(batchIdx / (i + 3))] as const),
        },
        this.imagePart,
      ),
    );
    return true;
  }

  /** batch_idx the next batch will carry (= batches sent so far). */
  get nextBatchIdx(): number {
    return this.batchIdx;
  }

  /** performance.now() when batch `batchIdx` was sent, if it is still remembered. */
  sentAtOf(batchIdx: number): number | undefined {
    if (batchIdx < 0 || batchIdx >= this.batchIdx || this.batchIdx - batchIdx > SENT_AT_RING)
      return undefined;
    return this.sentAt[batchIdx & (SENT_AT_RING - 1)];
  }

  /** Sent minus acknowledged. */
  get lag(): number {
    return this.sent - this.acked;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const call = this.call;
    if (call) {
      const done = new Promise<void>((resolve) => {
        call.on('status', () => resolve());
        call.on('error', () => resolve());
        setTimeout(resolve, 3000).unref();
      });
      call.end();
      await done;
    }
    this.client?.close();
  }

  private nextSequence(): bigint {
    this.sequence += 1n;
    return this.sequence;
  }

  private write(bytes: Uint8Array): void {
    this.writtenAt[this.sent & (SENT_AT_RING - 1)] = performance.now();
    this.call?.write(asBuffer(bytes));
    this.sent++;
  }

  private onResponse(bytes: Buffer): void {
    const response = decodeResponse(bytes);
    switch (response.payload.case) {
      case 'ack':
        // MAX_UNACKED < SENT_AT_RING, so the send time of the acked message is still in the ring.
        this.ackLatency?.add(performance.now() - this.writtenAt[this.acked & (SENT_AT_RING - 1)]);
        this.acked++;
        break;
      case 'command': {
        const { commandId, type } = response.payload.value;
        const status = type === CommandType.PAUSE ? TrainingStatus.PAUSED : TrainingStatus.RUNNING;
        const answer = () => {
          if (this.closed) return;
          this.write(encodeCommandResult(this.sessionId, this.nextSequence(), commandId, status));
          this.commandsAnswered++;
        };
        if (this.commandDelayMs > 0) setTimeout(answer, this.commandDelayMs);
        else answer();
        break;
      }
      case 'error':
        this.noteError(`error response: ${response.payload.value.message}`);
        break;
      case undefined:
        break;
    }
  }

  private noteError(message: string): void {
    this.errors++;
    this.firstError ??= message;
  }
}

/**
 * Drives trainers at a fixed rate each from one timer: every tick sends each
 * trainer the batches it is due (elapsed × rate), so timer jitter does not
 * lower the offered rate. Catch-up after a stall is capped per tick.
 */
export class Pacer {
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private readonly due = new Map<LoadTrainer, number>();
  /** Batches a trainer may send in one tick when catching up. */
  static readonly MAX_BURST = 8;

  constructor(
    private readonly ratePerSecond: number,
    private readonly tickMs = 4,
  ) {}

  start(trainers: readonly LoadTrainer[]): void {
    this.startedAt = performance.now();
    for (const trainer of trainers) this.due.set(trainer, 0);
    this.timer = setInterval(() => this.tick(), this.tickMs);
  }

  add(trainer: LoadTrainer): void {
    // Joins in phase with the others: owes batches from now on.
    this.due.set(
      trainer,
      Math.floor(((performance.now() - this.startedAt) / 1000) * this.ratePerSecond),
    );
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    const owed = Math.floor(((performance.now() - this.startedAt) / 1000) * this.ratePerSecond);
    for (const [trainer, done] of this.due) {
      let sent = done;
      const limit = Math.min(owed, done + Pacer.MAX_BURST);
      while (sent < limit) {
        trainer.sendBatch();
        sent++;
      }
      // Batches skipped beyond the burst cap are not owed later: the offered rate drops and shows.
      this.due.set(trainer, Math.max(sent, owed - Pacer.MAX_BURST));
    }
  }
}

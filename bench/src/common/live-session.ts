import { waitFor } from '@trainwatch/testing';
import { LoadTrainer, Pacer } from './load-trainer';
import { SampleBuffer } from './stats';
import type { Target } from './targets';
import { openWatcher, type WatchProtocol, type Watcher } from './watchers';

/** Latency samples kept per series (reservoir beyond this). */
export const MAX_LATENCY_SAMPLES = 200_000;

/** One trainer streaming at a fixed rate and any number of watchers timing what they receive. */
export class LiveSession {
  readonly trainer: LoadTrainer;
  readonly watchers: Watcher[] = [];
  /** Trainer send → watcher receive of the batch's scalar event, ms. */
  readonly batchLatency = new SampleBuffer(MAX_LATENCY_SAMPLES);
  /** Trainer send → watcher receive of the batch's image frame, ms. */
  readonly imageLatency = new SampleBuffer(MAX_LATENCY_SAMPLES);
  private readonly pacer: Pacer;
  private recording = false;
  /** Image frames that arrived while recording (latest-wins lanes may skip some). */
  imageFrames = 0;
  batchEvents = 0;
  /** Batches sent while recording. */
  private sentAtStart = 0;
  private sentAtStop = 0;

  constructor(
    readonly target: Target,
    readonly sessionId: string,
    imagePart: Uint8Array,
    ratePerSecond: number,
    commandDelayMs = 0,
  ) {
    this.trainer = new LoadTrainer(target, sessionId, imagePart, commandDelayMs);
    this.pacer = new Pacer(ratePerSecond);
  }

  /** Registers, opens the trainer stream and starts sending. */
  async start(): Promise<void> {
    await this.trainer.open();
    this.startPacing();
  }

  /** Starts sending at the fixed rate (after `trainer.open()`). */
  startPacing(): void {
    this.pacer.start([this.trainer]);
  }

  /**
   * Opens `count` watchers and waits until each has received something (the
   * snapshot on the product, a forwarded batch on the relay).
   */
  async addWatchers(count: number, protocol: WatchProtocol, timed = true): Promise<Watcher[]> {
    const added: Watcher[] = [];
    for (let i = 0; i < count; i++) {
      const watcher = openWatcher(this.target, protocol, this.sessionId, {
        onBatch: (batchIdx, atMs) => {
          if (!timed || !this.recording) return;
          const sentAt = this.trainer.sentAtOf(batchIdx);
          if (sentAt !== undefined) this.batchLatency.add(atMs - sentAt);
          this.batchEvents++;
        },
        onImages: (batchIdx, atMs) => {
          if (!timed || !this.recording) return;
          const sentAt = this.trainer.sentAtOf(batchIdx);
          if (sentAt !== undefined) this.imageLatency.add(atMs - sentAt);
          this.imageFrames++;
        },
      });
      added.push(watcher);
      this.watchers.push(watcher);
    }
    await waitFor(
      () => {
        const failed = added.find((w) => w.error !== undefined);
        if (failed) throw new Error(`watcher failed: ${failed.error}`);
        return added.every((w) => w.received > 0);
      },
      { timeoutMs: 30_000, what: `${count} ${protocol} watchers to receive their first event` },
    );
    return added;
  }

  startRecording(): void {
    this.batchLatency.clear();
    this.imageLatency.clear();
    this.imageFrames = 0;
    this.batchEvents = 0;
    this.sentAtStart = this.trainer.sent;
    this.recording = true;
  }

  stopRecording(): void {
    this.recording = false;
    this.sentAtStop = this.trainer.sent;
  }

  /** Messages the trainer sent while recording. */
  get sentWhileRecording(): number {
    return this.sentAtStop - this.sentAtStart;
  }

  /** First error any watcher saw, if any. */
  watcherError(): string | undefined {
    return this.watchers.find((w) => w.error !== undefined)?.error;
  }

  async close(): Promise<void> {
    this.pacer.stop();
    for (const watcher of this.watchers) watcher.close();
    await this.trainer.close();
  }
}

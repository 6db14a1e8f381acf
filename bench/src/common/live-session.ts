import { waitFor } from '@trainwatch/testing';
import { LoadTrainer, Pacer } from './load-trainer';
import { SampleBuffer } from './stats';
import type { Target } from './targets';
import { WatcherProcesses } from './watcher-processes';
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
  /**
   * The scalar event's latency split at the server's apply (BatchEvent.received_at_ms,
   * Unix ms; this process's clock read as Unix time through performance.timeOrigin):
   * trainer send → server apply, and server apply → watcher receive. Product only.
   */
  readonly sendToApply = new SampleBuffer(MAX_LATENCY_SAMPLES);
  readonly applyToArrival = new SampleBuffer(MAX_LATENCY_SAMPLES);
  private readonly pacer: Pacer;
  /**
   * batch_idx range [from, to) being timed: batches sent between
   * startRecording and stopRecording, whenever they arrive.
   */
  private windowFrom = Number.POSITIVE_INFINITY;
  private windowTo = Number.POSITIVE_INFINITY;
  /** Image frames of timed batches that arrived (latest-wins lanes may skip some). */
  imageFrames = 0;
  /** Scalar events of timed batches that arrived. */
  batchEvents = 0;
  /** Timed watchers in processes of their own (addWatcherProcesses). */
  private readonly processes: WatcherProcesses[] = [];
  /** The first error a watcher process reported. */
  private processError: string | undefined;

  constructor(
    readonly target: Target,
    readonly sessionId: string,
    imagePart: Uint8Array,
    ratePerSecond: number,
    commandDelayMs = 0,
    metricNames: readonly string[] = [],
  ) {
    this.trainer = new LoadTrainer(target, sessionId, imagePart, commandDelayMs, metricNames);
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
   * snapshot on the product, a forwarded batch on the relay). `on` is where
   * they connect: the trainer's target by default, another replica otherwise.
   */
  async addWatchers(
    count: number,
    protocol: WatchProtocol,
    timed = true,
    on: Target = this.target,
  ): Promise<Watcher[]> {
    const added: Watcher[] = [];
    for (let i = 0; i < count; i++) {
      const watcher = openWatcher(on, protocol, this.sessionId, {
        onBatch: (batchIdx, atMs, appliedAtMs) => {
          if (timed) this.recordBatch(batchIdx, atMs, appliedAtMs);
        },
        onImages: (batchIdx, atMs) => {
          if (timed) this.recordImages(batchIdx, atMs);
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

  /**
   * Opens `count` timed watchers in processes of their own (watcher-processes.ts), away from
   * the trainer's process, and waits until each has received something. Their arrivals join
   * this session's figures at stopRecording.
   */
  async addWatcherProcesses(count: number, protocol: WatchProtocol): Promise<WatcherProcesses> {
    const processes = await WatcherProcesses.open(this.target, protocol, this.sessionId, count);
    this.processes.push(processes);
    return processes;
  }

  /** Process ids of the watcher processes, to sample their CPU. */
  get watcherPids(): number[] {
    return this.processes.flatMap((p) => p.pids);
  }

  private recordBatch(batchIdx: number, atMs: number, appliedAtMs?: number): void {
    if (!this.inWindow(batchIdx)) return;
    const sentAt = this.trainer.sentAtOf(batchIdx);
    if (sentAt !== undefined) this.batchLatency.add(atMs - sentAt);
    if (sentAt !== undefined && appliedAtMs !== undefined && appliedAtMs > 0) {
      const applied = appliedAtMs - performance.timeOrigin;
      this.sendToApply.add(applied - sentAt);
      this.applyToArrival.add(atMs - applied);
    }
    this.batchEvents++;
  }

  private recordImages(batchIdx: number, atMs: number): void {
    if (!this.inWindow(batchIdx)) return;
    const sentAt = this.trainer.sentAtOf(batchIdx);
    if (sentAt !== undefined) this.imageLatency.add(atMs - sentAt);
    this.imageFrames++;
  }

  /** Times every batch sent from now until stopRecording. */
  startRecording(): void {
    this.batchLatency.clear();
    this.imageLatency.clear();
    this.sendToApply.clear();
    this.applyToArrival.clear();
    this.imageFrames = 0;
    this.batchEvents = 0;
    this.windowFrom = this.trainer.nextBatchIdx;
    this.windowTo = Number.POSITIVE_INFINITY;
    for (const processes of this.processes) processes.record(this.windowFrom);
  }

  /**
   * Stops timing new batches, then waits up to `drainMs` for the timed ones
   * still in flight to reach every timed watcher (so a backlog is measured,
   * not cut off).
   */
  async stopRecording(timedWatchers: number, drainMs = 5000): Promise<void> {
    this.windowTo = this.trainer.nextBatchIdx;
    const expected = this.sentWhileRecording * timedWatchers;
    const deadline = performance.now() + drainMs;
    for (const processes of this.processes) {
      for (const arrivals of await processes.collect(this.windowTo, drainMs)) {
        const { batches, images } = arrivals;
        for (let i = 0; i < batches.length; i += 3)
          this.recordBatch(batches[i] as number, batches[i + 1] as number, batches[i + 2]);
        for (let i = 0; i < images.length; i += 2)
          this.recordImages(images[i] as number, images[i + 1] as number);
        this.processError ??=
          arrivals.error ??
          (arrivals.dropped > 0
            ? `${arrivals.dropped} arrivals over a process's bound`
            : undefined);
      }
    }
    while (this.batchEvents < expected && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Batches sent while recording. */
  get sentWhileRecording(): number {
    return Math.max(0, Math.min(this.windowTo, this.trainer.nextBatchIdx) - this.windowFrom);
  }

  private inWindow(batchIdx: number): boolean {
    return batchIdx >= this.windowFrom && batchIdx < this.windowTo;
  }

  /** First error any watcher saw, if any. */
  watcherError(): string | undefined {
    return this.watchers.find((w) => w.error !== undefined)?.error ?? this.processError;
  }

  async close(): Promise<void> {
    this.pacer.stop();
    for (const watcher of this.watchers) watcher.close();
    await Promise.all(this.processes.map((p) => p.close()));
    this.processes.length = 0;
    await this.trainer.close();
  }
}

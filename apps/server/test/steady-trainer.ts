import { waitFor } from '@trainwatch/testing';
import { register, telemetryClient, TrainerStreamClient } from './harness';

/**
 * A healthy trainer that sends one batch every `intervalMs` and records how
 * long each ack took, so a test can assert that something else happening on
 * the same server did not stall it.
 */
export class SteadyTrainer {
  private readonly client: ReturnType<typeof telemetryClient>;
  private stream: TrainerStreamClient | undefined;
  private timer: NodeJS.Timeout | undefined;
  private sequence = 0n;
  private readonly sentAt = new Map<bigint, number>();
  /** Milliseconds from send to ack, per acknowledged batch. */
  readonly latencies: number[] = [];

  constructor(
    address: string,
    readonly sessionId: string,
    private readonly intervalMs = 50,
  ) {
    this.client = telemetryClient(address);
  }

  async start(): Promise<void> {
    await register(this.client, {
      sessionId: this.sessionId,
      config: { totalEpochs: 1000, batchesPerEpoch: 100, batchSize: 32, classNames: ['a'] },
    });
    this.stream = new TrainerStreamClient(this.client, this.sessionId);
    this.stream.call.on('data', () => {
      for (const ack of this.stream?.acks() ?? []) {
        const sent = this.sentAt.get(ack.sequence);
        if (sent !== undefined) {
          this.latencies.push(Date.now() - sent);
          this.sentAt.delete(ack.sequence);
        }
      }
    });
    this.timer = setInterval(() => this.sendOne(), this.intervalMs);
    await this.waitForAcks(3);
  }

  private sendOne(): void {
    const sequence = ++this.sequence;
    this.sentAt.set(sequence, Date.now());
    const step = Number(sequence);
    this.stream?.batch(sequence, Math.floor(step / 100), step % 100);
  }

  /** Oldest batch still waiting for its ack, in milliseconds (0 when none). */
  oldestUnackedMs(): number {
    let oldest = 0;
    for (const sent of this.sentAt.values()) oldest = Math.max(oldest, Date.now() - sent);
    return oldest;
  }

  /** Worst ack latency so far, counting batches still waiting. */
  worstLatencyMs(): number {
    return Math.max(0, ...this.latencies, this.oldestUnackedMs());
  }

  /** Waits until `count` more batches have been acknowledged. */
  async waitForAcks(count: number, timeoutMs = 10_000): Promise<void> {
    const target = this.latencies.length + count;
    await waitFor(() => this.latencies.length >= target, {
      timeoutMs,
      what: `${count} acks for the healthy trainer ${this.sessionId}`,
    });
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.stream?.end();
    this.client.close();
  }
}

import type { SharedFrameMemory } from './shared-frame-memory';
import { toBinary } from '@bufbuild/protobuf';
import {
  AlertSchema,
  CommandAuditEntrySchema,
  EpochDataSchema,
  PerformanceDataSchema,
  StatusEventSchema,
  type Alert,
  type CommandAuditEntry,
  type EpochData,
  type ImageFrame,
  type PerformanceData,
  type StatusEvent,
} from '@trainwatch/proto';
import type { Session } from '../sessions/session';
import { encodeStoredFrame } from './frame-encoding';

/** Rough bytes a scalar row takes while it waits (object, numbers, references). */
const ROW_OVERHEAD_BYTES = 64;
/** Bytes a point takes while it waits: three numbers in its series' columns. */
const POINT_BYTES = 24;

/**
 * The points of one series waiting in a batch, as columns in arrival order:
 * the commit looks the series up once, not once per point (with 20 named
 * metrics per batch the per-point keys and objects were ~4% of the event
 * loop).
 */
export class PendingSeries {
  readonly steps: number[] = [];
  readonly values: number[] = [];
  readonly wallMs: number[] = [];

  constructor(
    readonly sessionId: string,
    readonly name: string,
    readonly kind: number,
  ) {}

  get size(): number {
    return this.steps.length;
  }

  add(step: number, value: number, wallMs: number): void {
    this.steps.push(step);
    this.values.push(value);
    this.wallMs.push(wallMs);
  }
}

export interface PendingFrame {
  sessionId: string;
  step: number;
  epoch: number;
  batchIdx: number;
  timestampMs: number;
  frame: Buffer;
}

export interface PendingBlobRow {
  sessionId: string;
  atMs: number;
  /** EpochData.epoch for epochs; unused otherwise. */
  epoch: number;
  data: Buffer;
}

export interface PendingStatusRow {
  sessionId: string;
  atMs: number;
  status: number;
  connection: number;
  message: string;
  event: Buffer;
}

export interface PendingCommandRow {
  sessionId: string;
  commandId: string;
  issuedAtMs: number;
  entry: Buffer;
}

export interface PendingAlertRow {
  sessionId: string;
  alertId: string;
  firstAtMs: number;
  acknowledgedAtMs: number;
  alert: Buffer;
}

/** Protobuf bytes as a Buffer sharing their memory (both drivers bind Buffers as blobs). */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * What the next commit writes: rows of every event since the last commit,
 * the sessions they touched (their row is written as the session stands
 * when the commit is built, last applied sequence included), and the acks
 * waiting for it. Protobuf payloads are encoded as they arrive, so `bytes`
 * is what this batch holds in memory.
 */
export class PendingWrites {
  readonly sessions = new Map<string, Session>();
  /** Every series with points waiting, in the order each first got one. */
  readonly series: PendingSeries[] = [];
  /** Points waiting, over every series. */
  pointCount = 0;
  /** The same series by session, kind and name. */
  private readonly seriesIndex = new Map<string, Map<string, PendingSeries>[]>();
  /** By session and step: a frame sent again for a step replaces the waiting one. */
  readonly frames = new Map<string, PendingFrame>();
  readonly epochs: PendingBlobRow[] = [];
  readonly performance: PendingBlobRow[] = [];
  readonly statusEvents: PendingStatusRow[] = [];
  /** By session and command id: the newest audit entry wins. */
  readonly commands = new Map<string, PendingCommandRow>();
  /** Epochs whose confusion matrix changed, by session and epoch: written as they stand at commit. */
  readonly confusion = new Map<string, { session: Session; epoch: number }>();
  /** By session and alert id: the newest state of each alert wins. */
  readonly alerts = new Map<string, PendingAlertRow>();
  /** Sessions whose alert settings changed: written as they stand at commit. */
  readonly alertSettings = new Map<string, Session>();
  /** Bytes this batch holds in memory (counted against STORE_MAX_PENDING_BYTES). */
  bytes = 0;
  /** Events in the batch. */
  events = 0;
  readonly committed: Promise<void>;
  private resolveCommitted!: () => void;
  /** Batches merged into this one after a failed commit; settled with it. */
  private readonly merged: PendingWrites[] = [];

  /** @param frameMemory where stored frames are encoded (shared memory when a thread writes them). */
  constructor(private readonly frameMemory?: SharedFrameMemory) {
    this.committed = new Promise((resolve) => (this.resolveCommitted = resolve));
  }

  get empty(): boolean {
    return this.events === 0 && this.sessions.size === 0;
  }

  touch(session: Session): void {
    this.sessions.set(session.id, session);
  }

  addPoint(
    session: Session,
    name: string,
    kind: number,
    step: bigint,
    value: number,
    wallMs: number,
  ): void {
    this.seriesFor(session.id, kind, name).add(Number(step), value, wallMs);
    this.pointCount += 1;
    this.bytes += POINT_BYTES;
  }

  private seriesFor(sessionId: string, kind: number, name: string): PendingSeries {
    let kinds = this.seriesIndex.get(sessionId);
    if (kinds === undefined) {
      kinds = [];
      this.seriesIndex.set(sessionId, kinds);
    }
    let names = kinds[kind];
    if (names === undefined) {
      names = new Map();
      kinds[kind] = names;
    }
    let series = names.get(name);
    if (series === undefined) {
      series = new PendingSeries(sessionId, name, kind);
      names.set(name, series);
      this.series.push(series);
      this.bytes += ROW_OVERHEAD_BYTES + name.length;
    }
    return series;
  }

  addFrame(session: Session, frame: ImageFrame): void {
    const bytes = encodeStoredFrame(frame, this.frameMemory?.allocate);
    const step = Number(frame.step);
    const key = `${session.id}\u0000${step}`;
    const previous = this.frames.get(key);
    if (previous !== undefined) this.bytes -= previous.frame.byteLength + ROW_OVERHEAD_BYTES;
    this.frames.set(key, {
      sessionId: session.id,
      step,
      epoch: frame.epoch,
      batchIdx: frame.batchIdx,
      timestampMs: Number(frame.timestampMs),
      frame: bytes,
    });
    this.bytes += bytes.byteLength + ROW_OVERHEAD_BYTES;
  }

  addEpoch(session: Session, epoch: EpochData, atMs: number): void {
    const data = asBuffer(toBinary(EpochDataSchema, epoch));
    this.epochs.push({ sessionId: session.id, atMs, epoch: epoch.epoch, data });
    this.bytes += data.byteLength + ROW_OVERHEAD_BYTES;
  }

  addPerformance(session: Session, performance: PerformanceData, atMs: number): void {
    const data = asBuffer(toBinary(PerformanceDataSchema, performance));
    this.performance.push({ sessionId: session.id, atMs, epoch: 0, data });
    this.bytes += data.byteLength + ROW_OVERHEAD_BYTES;
  }

  addStatus(session: Session, status: StatusEvent): void {
    const event = asBuffer(toBinary(StatusEventSchema, status));
    this.statusEvents.push({
      sessionId: session.id,
      atMs: Number(status.timestampMs),
      status: status.status,
      connection: status.connection,
      message: status.message,
      event,
    });
    this.bytes += event.byteLength + status.message.length + ROW_OVERHEAD_BYTES;
  }

  markConfusion(session: Session, epoch: number): void {
    const key = `${session.id}\u0000${epoch}`;
    if (this.confusion.has(key)) return;
    this.confusion.set(key, { session, epoch });
    this.bytes += ROW_OVERHEAD_BYTES;
  }

  addCommand(session: Session, entry: CommandAuditEntry): void {
    const bytes = asBuffer(toBinary(CommandAuditEntrySchema, entry));
    const key = `${session.id}\u0000${entry.commandId}`;
    const previous = this.commands.get(key);
    if (previous !== undefined) this.bytes -= previous.entry.byteLength + ROW_OVERHEAD_BYTES;
    this.commands.set(key, {
      sessionId: session.id,
      commandId: entry.commandId,
      issuedAtMs: Number(entry.issuedAtMs),
      entry: bytes,
    });
    this.bytes += bytes.byteLength + ROW_OVERHEAD_BYTES;
  }

  addAlert(session: Session, alert: Alert): void {
    const bytes = asBuffer(toBinary(AlertSchema, alert));
    const key = `${session.id}\u0000${alert.alertId}`;
    const previous = this.alerts.get(key);
    if (previous !== undefined) this.bytes -= previous.alert.byteLength + ROW_OVERHEAD_BYTES;
    this.alerts.set(key, {
      sessionId: session.id,
      alertId: alert.alertId,
      firstAtMs: Number(alert.firstAtMs),
      acknowledgedAtMs: Number(alert.acknowledgedAtMs),
      alert: bytes,
    });
    this.bytes += bytes.byteLength + ROW_OVERHEAD_BYTES;
  }

  markAlertSettings(session: Session): void {
    if (this.alertSettings.has(session.id)) return;
    this.alertSettings.set(session.id, session);
    this.bytes += ROW_OVERHEAD_BYTES;
  }

  /**
   * Appends `later` (events that arrived after this batch) so that one
   * commit writes both, in order; its acks are released with this batch's.
   */
  absorb(later: PendingWrites): void {
    for (const [id, session] of later.sessions) this.sessions.set(id, session);
    for (const series of later.series) {
      const into = this.seriesFor(series.sessionId, series.kind, series.name);
      for (let index = 0; index < series.size; index++) {
        into.add(
          series.steps[index] as number,
          series.values[index] as number,
          series.wallMs[index] as number,
        );
      }
    }
    this.pointCount += later.pointCount;
    for (const [key, frame] of later.frames) {
      const previous = this.frames.get(key);
      if (previous !== undefined) this.bytes -= previous.frame.byteLength + ROW_OVERHEAD_BYTES;
      this.frames.set(key, frame);
    }
    for (const [key, mark] of later.confusion) this.confusion.set(key, mark);
    for (const [key, row] of later.alerts) {
      const previous = this.alerts.get(key);
      if (previous !== undefined) this.bytes -= previous.alert.byteLength + ROW_OVERHEAD_BYTES;
      this.alerts.set(key, row);
    }
    for (const [id, session] of later.alertSettings) this.alertSettings.set(id, session);
    for (const row of later.epochs) this.epochs.push(row);
    for (const row of later.performance) this.performance.push(row);
    for (const row of later.statusEvents) this.statusEvents.push(row);
    for (const [key, row] of later.commands) {
      const previous = this.commands.get(key);
      if (previous !== undefined) this.bytes -= previous.entry.byteLength + ROW_OVERHEAD_BYTES;
      this.commands.set(key, row);
    }
    this.bytes += later.bytes;
    this.events += later.events;
    this.merged.push(later);
  }

  /** Drops everything waiting for one session (it is being deleted); its acks are released with the batch. */
  discard(sessionId: string): void {
    this.sessions.delete(sessionId);
    const keep = <T extends { sessionId: string }>(rows: T[]): void => {
      let write = 0;
      for (const row of rows) if (row.sessionId !== sessionId) rows[write++] = row;
      rows.length = write;
    };
    keep(this.series);
    this.seriesIndex.delete(sessionId);
    this.pointCount = this.series.reduce((sum, series) => sum + series.size, 0);
    keep(this.epochs);
    keep(this.performance);
    keep(this.statusEvents);
    for (const [key, frame] of this.frames)
      if (frame.sessionId === sessionId) this.frames.delete(key);
    for (const [key, row] of this.commands)
      if (row.sessionId === sessionId) this.commands.delete(key);
    for (const [key, mark] of this.confusion)
      if (mark.session.id === sessionId) this.confusion.delete(key);
    for (const [key, row] of this.alerts) if (row.sessionId === sessionId) this.alerts.delete(key);
    this.alertSettings.delete(sessionId);
  }

  /** The commit holding this batch (and every batch it absorbed) succeeded: their acks go out. */
  settle(): void {
    this.resolveCommitted();
    // Committed: nothing reads this batch's frames any more, their memory serves the next batches.
    this.frameMemory?.release();
    for (const batch of this.merged) batch.settle();
  }
}

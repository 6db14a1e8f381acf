import { create, toBinary, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import {
  CommandAuditEntrySchema,
  EpochDataSchema,
  LOSS_SERIES,
  LossHistorySchema,
  SeriesHistorySchema,
  SessionSnapshotSchema,
  type CommandAuditEntry,
  type EpochData,
  type ImageFrame,
  type LossHistory,
  type PerformanceData,
  type SeriesHistory,
  type SessionSnapshot,
  type SessionSummary,
} from '@trainwatch/proto';
import { SNAPSHOT_SERIES_BYTES } from '../common/limits';
import type { SessionSeries } from '../history/session-series';

/** What a snapshot is made of, before it is fitted into one message. */
export interface SnapshotParts {
  summary: SessionSummary;
  series: SessionSeries;
  epochs: readonly EpochData[];
  latestPerformance: PerformanceData | undefined;
  latestImages: ImageFrame | undefined;
  commands: readonly CommandAuditEntry[];
}

/** Upper bound on a series point's encoded size: 10-byte varint step and time, 8-byte double. */
const SERIES_POINT_BYTES = 28;
/**
 * Upper bound on a series' bytes besides its points: its field header, a
 * 128-character name, kind, total, and the three packed arrays' headers.
 */
const SERIES_OVERHEAD_BYTES = 160;

const encodedSize = <Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>) =>
  toBinary(schema, message).byteLength;

/** Bytes of a length-delimited field holding `size` bytes: tag, length varint, payload. */
const fieldSize = (size: number) => 1 + varintSize(size) + size;
const varintSize = (value: number) =>
  value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x200000 ? 3 : 4;

/** Every series with at most `maxPoints` points each, and loss_history: the same points as `loss`. */
function seriesFields(
  series: SessionSeries,
  maxPoints?: number,
): { series: SeriesHistory[]; lossHistory: LossHistory } {
  const messages = series.toMessages(maxPoints);
  const loss = messages.find((message) => message.name === LOSS_SERIES);
  const lossHistory = create(LossHistorySchema, {
    steps: loss?.steps ?? [],
    losses: loss?.values ?? [],
    totalPoints: loss?.totalPoints ?? 0n,
  });
  return { series: messages, lossHistory };
}

function seriesBytes(fields: { series: SeriesHistory[]; lossHistory: LossHistory }): number {
  let bytes = fieldSize(encodedSize(LossHistorySchema, fields.lossHistory));
  for (const series of fields.series) bytes += fieldSize(encodedSize(SeriesHistorySchema, series));
  return bytes;
}

/**
 * A snapshot of at most `maxBytes` encoded, whatever the session holds. The
 * summary (config with class names and run metadata, both bounded at
 * registration) and the latest performance always go in. Every series goes
 * in, ordered by name: together with loss_history (the loss again) they take
 * at most SNAPSHOT_SERIES_BYTES, past which every series is thinned to the
 * same number of points (min/max kept) — with 1,000 series of 100 points
 * each they still fit, with fewer they keep more — down to none, when
 * even the names alone would not fit beside a summary at its bounds. Then
 * the newest commands (up to half of what is left) and the newest epochs
 * fill the rest, each list kept in order. The latest images go in only when
 * everything fits with them; otherwise latest_images stays unset and the
 * watch sends the frame as its own events.
 */
export function boundedSnapshot(parts: SnapshotParts, maxBytes: number): SessionSnapshot {
  const full = seriesFields(parts.series);
  const whole = create(SessionSnapshotSchema, {
    session: parts.summary,
    lossHistory: full.lossHistory,
    series: full.series,
    epochs: [...parts.epochs],
    latestPerformance: parts.latestPerformance,
    latestImages: parts.latestImages,
    commands: [...parts.commands],
  });
  // The common case: everything fits, one encode to check it.
  if (encodedSize(SessionSnapshotSchema, whole) <= maxBytes) return whole;
  whole.latestImages = undefined;
  if (parts.latestImages !== undefined && encodedSize(SessionSnapshotSchema, whole) <= maxBytes) {
    return whole;
  }

  const snapshot = create(SessionSnapshotSchema, {
    session: parts.summary,
    latestPerformance: parts.latestPerformance,
  });
  let used = encodedSize(SessionSnapshotSchema, snapshot);
  const budget = Math.min(SNAPSHOT_SERIES_BYTES, maxBytes - used);
  let fields = full;
  let bytes = seriesBytes(fields);
  if (bytes > budget) {
    // The loss is carried twice (series and loss_history): count it as one more series.
    const carried = parts.series.size + (parts.series.get(LOSS_SERIES) === undefined ? 0 : 1);
    const forPoints = budget - carried * SERIES_OVERHEAD_BYTES;
    const perSeries = Math.max(0, Math.floor(forPoints / (carried * SERIES_POINT_BYTES)));
    fields = seriesFields(parts.series, perSeries);
    bytes = seriesBytes(fields);
    if (bytes > maxBytes - used) {
      fields = seriesFields(parts.series, 0);
      bytes = seriesBytes(fields);
    }
  }
  if (bytes <= maxBytes - used) {
    snapshot.series = fields.series;
    snapshot.lossHistory = fields.lossHistory;
    used += bytes;
  }
  const commandBudget = used + Math.floor((maxBytes - used) / 2);
  const commands = newestThatFit(parts.commands, CommandAuditEntrySchema, commandBudget - used);
  snapshot.commands = commands.items;
  used += commands.bytes;
  snapshot.epochs = newestThatFit(parts.epochs, EpochDataSchema, maxBytes - used).items;
  return snapshot;
}

/** The longest tail of `items` whose encoded fields take at most `budget` bytes, in order. */
function newestThatFit<Desc extends DescMessage>(
  items: readonly MessageShape<Desc>[],
  schema: Desc,
  budget: number,
): { items: MessageShape<Desc>[]; bytes: number } {
  let bytes = 0;
  let start = items.length;
  while (start > 0) {
    const size = fieldSize(encodedSize(schema, items[start - 1] as MessageShape<Desc>));
    if (bytes + size > budget) break;
    bytes += size;
    start -= 1;
  }
  return { items: items.slice(start), bytes };
}

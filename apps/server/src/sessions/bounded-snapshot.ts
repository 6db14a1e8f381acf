import { create, toBinary, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import {
  CommandAuditEntrySchema,
  EpochDataSchema,
  LossHistorySchema,
  SessionSnapshotSchema,
  type CommandAuditEntry,
  type EpochData,
  type ImageFrame,
  type PerformanceData,
  type SessionSnapshot,
  type SessionSummary,
} from '@trainwatch/proto';
import { SNAPSHOT_LOSS_HISTORY_BYTES } from '../common/limits';
import type { LossHistory } from './loss-history';

/** What a snapshot is made of, before it is fitted into one message. */
export interface SnapshotParts {
  summary: SessionSummary;
  lossHistory: LossHistory;
  epochs: readonly EpochData[];
  latestPerformance: PerformanceData | undefined;
  latestImages: ImageFrame | undefined;
  commands: readonly CommandAuditEntry[];
}

/** Upper bound on a loss point's encoded size: a 10-byte varint step and an 8-byte double. */
const LOSS_POINT_BYTES = 18;

const encodedSize = <Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>) =>
  toBinary(schema, message).byteLength;

/** Bytes of a length-delimited field holding `size` bytes: tag, length varint, payload. */
const fieldSize = (size: number) => 1 + varintSize(size) + size;
const varintSize = (value: number) =>
  value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x200000 ? 3 : 4;

/**
 * A snapshot of at most `maxBytes` encoded, whatever the session holds. The
 * summary (config with class names, bounded at registration) and the latest
 * performance always go in; the loss curve is thinned past
 * SNAPSHOT_LOSS_HISTORY_BYTES; then the newest commands (up to half of what
 * is left) and the newest epochs fill the rest, each list kept in order.
 * The latest images go in only when everything fits with them; otherwise
 * latest_images stays unset and the watch sends the frame as its own events.
 */
export function boundedSnapshot(parts: SnapshotParts, maxBytes: number): SessionSnapshot {
  const whole = create(SessionSnapshotSchema, {
    session: parts.summary,
    lossHistory: parts.lossHistory.toMessage(),
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
  let lossHistory = whole.lossHistory;
  if (lossHistory !== undefined) {
    if (encodedSize(LossHistorySchema, lossHistory) > SNAPSHOT_LOSS_HISTORY_BYTES) {
      lossHistory = parts.lossHistory.toMessage(
        Math.floor(SNAPSHOT_LOSS_HISTORY_BYTES / LOSS_POINT_BYTES),
      );
    }
    const size = fieldSize(encodedSize(LossHistorySchema, lossHistory));
    if (used + size <= maxBytes) {
      snapshot.lossHistory = lossHistory;
      used += size;
    }
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

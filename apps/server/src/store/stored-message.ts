import { fromBinary, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import { Logger } from '@nestjs/common';

/** Damaged stored values the log names, per process: past it they are left out silently. */
export const MAX_DAMAGED_NAMED = 100;

const logger = new Logger('Store');
const named = new Set<string>();

/**
 * A protobuf message read back from the store (a run's config, an epoch, a
 * frame...); undefined when its bytes do not decode (a damaged database or
 * segment file): that value is left out of what is read and the log names
 * it, so one damaged row never fails a whole runs list or a run's snapshot.
 */
export function decodeStored<Desc extends DescMessage>(
  schema: Desc,
  bytes: Uint8Array,
  what: string,
): MessageShape<Desc> | undefined {
  try {
    return fromBinary(schema, bytes);
  } catch (error) {
    // Duck-typed: an error class may come from another realm.
    const message = (error as { message?: unknown } | null)?.message;
    reportDamaged(
      `${what} does not decode (${typeof message === 'string' ? message : String(error)})`,
    );
    return undefined;
  }
}

/** Says that a stored value is damaged and left out: once each, for the first MAX_DAMAGED_NAMED. */
export function reportDamaged(message: string): void {
  if (named.size >= MAX_DAMAGED_NAMED || named.has(message)) return;
  named.add(message);
  logger.warn(
    `${message}: left out of what is read (the rest of the run and the other runs are not)`,
  );
}

import { ErrorCode } from '@trainwatch/proto';
import { MAX_TRAINER_MESSAGES_PER_SECOND, SEQUENCE_GAP_SLACK } from '../common/limits';
import type { Session } from '../sessions/session';
import type { Rejection } from './payload-validation';

/**
 * How far past the session's last sequence the next one may be. A trainer
 * numbers its messages 1, 2, 3...; a jump happens only when its buffer
 * dropped messages, and a buffer holds at most `bufferSize` of them, plus
 * what it dropped while it was away for `awayMs` (bounded by the rate a
 * trainer logs at). A jump past this is no SDK's doing.
 */
export function maxSequenceJump(bufferSize: number, awayMs: number): bigint {
  const whileAway = Math.floor((Math.max(0, awayMs) * MAX_TRAINER_MESSAGES_PER_SECOND) / 1000);
  return BigInt(bufferSize + SEQUENCE_GAP_SLACK) + BigInt(whileAway);
}

/**
 * SEQUENCE_GAP when `sequence` (above the session's last) is further ahead
 * than any trainer buffer could leave it; undefined when it is plausible.
 * The first sequenced message this server sees for a session is not
 * measured: the server knows nothing of the run before it (a restart, or a
 * client that resumed without resume_from_sequence).
 */
export function checkSequenceJump(
  session: Session,
  sequence: bigint,
  bufferSize: number,
  now: number,
): Rejection | undefined {
  if (session.lastSequencedAtMs === undefined) return undefined;
  const bound = maxSequenceJump(bufferSize, now - session.lastSequencedAtMs);
  const jump = sequence - session.lastSequence;
  if (jump <= bound) return undefined;
  return {
    code: ErrorCode.SEQUENCE_GAP,
    message: `sequence ${sequence} jumps ${jump} past the last one (${session.lastSequence}); at most ${bound} is possible for a trainer buffer of ${bufferSize} messages (sequences start at 1 and grow by one per message); the message was not applied`,
  };
}

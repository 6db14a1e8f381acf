import { ErrorCode } from '@trainwatch/proto';
import { MAX_TRAINER_MESSAGES_PER_SECOND, SEQUENCE_GAP_SLACK } from '../common/limits';
import { Session } from '../sessions/session';
import { checkSequenceJump, maxSequenceJump } from './sequence-window';

const session = (lastSequence: bigint, lastSequencedAtMs: number | undefined) =>
  Object.assign(new Session('s', 0, { lossHistoryPoints: 16, commandAuditSize: 4 }), {
    lastSequence,
    lastSequencedAtMs,
  });

describe('sequence window', () => {
  it('allows a buffer plus slack at once, and what a trainer could log while away on top', () => {
    expect(maxSequenceJump(100, 0)).toBe(BigInt(100 + SEQUENCE_GAP_SLACK));
    expect(maxSequenceJump(100, 2000)).toBe(
      BigInt(100 + SEQUENCE_GAP_SLACK + 2 * MAX_TRAINER_MESSAGES_PER_SECOND),
    );
  });

  it('accepts a jump at the bound, refuses one past it with SEQUENCE_GAP naming the bound', () => {
    const bound = maxSequenceJump(10, 0);
    expect(checkSequenceJump(session(5n, 1000), 5n + bound, 10, 1000)).toBeUndefined();
    const refused = checkSequenceJump(session(5n, 1000), 6n + bound, 10, 1000);
    expect(refused?.code).toBe(ErrorCode.SEQUENCE_GAP);
    expect(refused?.message).toContain(`at most ${bound}`);
    expect(checkSequenceJump(session(1n, 1000), 1n << 63n, 10, 10_000_000)?.code).toBe(
      ErrorCode.SEQUENCE_GAP,
    );
  });

  it('does not measure the first sequenced message this server sees for a session', () => {
    expect(checkSequenceJump(session(0n, undefined), 1_000_000n, 10, 0)).toBeUndefined();
  });
});

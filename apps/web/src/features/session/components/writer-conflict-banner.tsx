import type { WriterConflict } from '@trainwatch/proto';
import { formatAgo } from '../../../common/format';
import { useNow } from '../../../common/use-now';

/** Warns that a second trainer tried to write this session and was refused. */
export function WriterConflictBanner({ conflict }: { conflict: WriterConflict | undefined }) {
  const now = useNow(1_000);
  if (!conflict) return null;
  const who = conflict.clientName ? `client “${conflict.clientName}”` : 'an unnamed client';
  const where = conflict.peer ? ` from ${conflict.peer}` : '';
  const times = conflict.refusals === 1 ? 'once' : `${conflict.refusals} times`;
  const at = Number(conflict.lastRefusedAtMs);
  return (
    <p className="banner" role="alert" data-testid="writer-conflict-banner">
      Another trainer ({who}
      {where}) tried to write this session and was refused {times}, last{' '}
      {at > 0 ? `${formatAgo(now - at)} (${new Date(at).toLocaleTimeString()})` : 'just now'}. Each
      run needs its own session id; this session keeps the data of the trainer that holds it.
    </p>
  );
}

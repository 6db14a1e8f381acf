import { SessionOrder } from '@trainwatch/proto';
import { errors } from '../common/app-error';

/**
 * Where a ListSessions page ends: the order key of its last session and its
 * id (the tie-break). Keys are values a session is sorted by: created or
 * updated time, or its display name folded to lower case.
 */
export interface ListPosition {
  key: number | string;
  id: string;
}

/** How each SessionOrder sorts: which key, and which way (ties by id the same way). */
export const SESSION_ORDERS: Record<
  SessionOrder,
  { key: 'created' | 'updated' | 'name'; descending: boolean }
> = {
  [SessionOrder.UNSPECIFIED]: { key: 'created', descending: true },
  [SessionOrder.CREATED_ASC]: { key: 'created', descending: false },
  [SessionOrder.UPDATED_DESC]: { key: 'updated', descending: true },
  [SessionOrder.NAME_ASC]: { key: 'name', descending: false },
};

/** The name a run is listed under: its display name, else its id. */
export function displayKey(name: string, id: string): string {
  return (name === '' ? id : name).toLowerCase();
}

/** True when `a` comes before `b` in `order`. */
export function comesBefore(order: SessionOrder, a: ListPosition, b: ListPosition): boolean {
  const { descending } = orderOf(order);
  if (a.key !== b.key) return descending ? a.key > b.key : a.key < b.key;
  return descending ? a.id > b.id : a.id < b.id;
}

export function orderOf(order: SessionOrder): (typeof SESSION_ORDERS)[SessionOrder] {
  const known = SESSION_ORDERS[order];
  if (known === undefined) {
    throw errors.invalidArgument(
      `order ${order} is not a SessionOrder this server knows; use ${Object.keys(SESSION_ORDERS).join(', ')}`,
    );
  }
  return known;
}

/**
 * Opaque to clients: the order it came from and the position. Versioned so
 * its shape can change without misreading old tokens.
 */
export function encodePageToken(order: SessionOrder, at: ListPosition): string {
  return Buffer.from(JSON.stringify({ v: 2, o: order, k: at.key, i: at.id })).toString('base64url');
}

/** The position a token names; INVALID_ARGUMENT for a token not issued for `order`. */
export function decodePageToken(token: string, order: SessionOrder): ListPosition {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (typeof parsed === 'object' && parsed !== null) {
    const { v, o, k, i } = parsed as Record<string, unknown>;
    const keyOk = orderOf(order).key === 'name' ? typeof k === 'string' : Number.isSafeInteger(k);
    if (v === 2 && keyOk && typeof i === 'string') {
      if (o !== order) {
        throw errors.invalidArgument(
          `page_token was issued for another order (${String(o)}, not ${order}); a page token is only valid for the order it came from`,
        );
      }
      return { key: k as number | string, id: i };
    }
  }
  throw errors.invalidArgument(
    'page_token is not a next_page_token this server issued; start again with an empty page_token',
  );
}

import type { PoolClient } from 'pg';

/** What U+0000 in a text value becomes on PostgreSQL: U+FFFD, the replacement character. */
export const NUL_REPLACEMENT = '\uFFFD';

/**
 * A query parameter PostgreSQL can store: its `text` cannot hold U+0000
 * (the whole statement fails, `invalid byte sequence for encoding "UTF8":
 * 0x00`), and protobuf strings may carry it, so one run whose model is "a\0b" would
 * fail every commit of the writer that holds it and stop every trainer's
 * acks. Strings, also inside arrays, get U+FFFD instead; anything else is
 * returned as it is (bytes are bytea, where 0x00 is fine).
 */
export function storableParameter(value: unknown): unknown {
  if (typeof value === 'string') {
    return value.includes('\u0000') ? value.replaceAll('\u0000', NUL_REPLACEMENT) : value;
  }
  return Array.isArray(value) ? storableValues(value) : value;
}

/** `values` as storable parameters: the same array when none needed a change (the usual case). */
function storableValues(values: unknown[]): unknown[] {
  for (let index = 0; index < values.length; index++) {
    const value = values[index];
    if (typeof value !== 'string' && !Array.isArray(value)) continue;
    if (storableParameter(value) !== value) return values.map(storableParameter);
  }
  return values;
}

/**
 * Makes every query of `client` bind storable parameters (storableParameter):
 * called for each connection the pool opens, so Kysely's queries, the raw
 * inserts and the frame writer's all pass through it. A query given as a
 * plain config object has its `values` changed the same way.
 */
export function keepTextStorable(client: PoolClient): void {
  // The class's own query, looked up on each call (so a spy on the prototype still sees every query).
  const prototype = Object.getPrototypeOf(client) as { query: (...args: unknown[]) => unknown };
  client.query = ((...args: unknown[]) => {
    const [config, values] = args;
    if (Array.isArray(values)) {
      args[1] = storableValues(values);
    } else if (
      typeof config === 'object' &&
      config !== null &&
      Object.getPrototypeOf(config) === Object.prototype &&
      Array.isArray((config as { values?: unknown }).values)
    ) {
      const plain = config as { values: unknown[] };
      args[0] = { ...plain, values: storableValues(plain.values) };
    }
    return prototype.query.apply(client, args);
  }) as typeof client.query;
}

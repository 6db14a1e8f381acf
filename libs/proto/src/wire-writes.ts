/**
 * Pieces of protobuf's wire format for encoders that write a message by hand
 * into one buffer of the exact size (metrics-response-encoder.ts, the
 * server's stored frames): lengths first, then the bytes.
 */

/** Bytes of `value` (a whole number 0 to 2^53) as a varint. */
export function varintLength(value: number): number {
  let length = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    length += 1;
  }
  return length;
}

/** Writes `value` (a whole number 0 to 2^53) as a varint at `at`; returns the offset after it. */
export function writeVarint(out: Uint8Array, at: number, value: number): number {
  while (value >= 0x80) {
    out[at++] = (value % 0x80) | 0x80;
    value = Math.floor(value / 0x80);
  }
  out[at++] = value;
  return at;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Bytes of `value` (a uint64) as a varint. */
export function uint64VarintLength(value: bigint): number {
  if (value <= MAX_SAFE) return varintLength(Number(value));
  let length = 1;
  while (value >= 0x80n) {
    value >>= 7n;
    length += 1;
  }
  return length;
}

/** Writes `value` (a uint64) as a varint at `at`; returns the offset after it. */
export function writeUint64Varint(out: Uint8Array, at: number, value: bigint): number {
  if (value <= MAX_SAFE) return writeVarint(out, at, Number(value));
  while (value >= 0x80n) {
    out[at++] = Number(value & 0x7fn) | 0x80;
    value >>= 7n;
  }
  out[at++] = Number(value);
  return at;
}

/**
 * True when `value` is at most `maxLength` characters, all ASCII: its UTF-8
 * bytes are then its char codes, written without Buffer's UTF-8 calls.
 */
export function isShortAscii(value: string, maxLength: number): boolean {
  if (value.length > maxLength) return false;
  for (let index = 0; index < value.length; index++) {
    if (value.charCodeAt(index) >= 0x80) return false;
  }
  return true;
}

/** Writes an ASCII string's char codes at `at` (check it with isShortAscii); returns the offset after it. */
export function writeAscii(out: Uint8Array, at: number, value: string): number {
  for (let index = 0; index < value.length; index++) out[at++] = value.charCodeAt(index);
  return at;
}

/**
 * True when `schema`'s fields are exactly `expected`, in declaration order
 * (numbers compared with field numbers, strings with local names): a hand
 * encoder writes only the fields it knows, and a contract that gained one
 * must go through toBinary until the encoder is taught it.
 */
export function fieldsAre(
  schema: { fields: readonly { number: number; localName: string }[] },
  expected: readonly (number | string)[],
): boolean {
  return (
    schema.fields.length === expected.length &&
    schema.fields.every(
      (field, index) =>
        (typeof expected[index] === 'number' ? field.number : field.localName) === expected[index],
    )
  );
}

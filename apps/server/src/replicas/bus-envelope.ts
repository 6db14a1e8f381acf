/**
 * What the owner appends to a session's log for one watch event: the
 * session's last applied trainer sequence at that moment (8 bytes, big
 * endian), then the encoded WatchSessionResponse. The sequence lets a new
 * owner tell which replayed trainer messages the log already shows.
 */
export interface BusEnvelope {
  readonly sequence: bigint;
  readonly message: Uint8Array;
}

const SEQUENCE_BYTES = 8;

export function encodeEnvelope(sequence: bigint, message: Uint8Array): Uint8Array {
  const payload = new Uint8Array(SEQUENCE_BYTES + message.length);
  new DataView(payload.buffer).setBigUint64(0, sequence);
  payload.set(message, SEQUENCE_BYTES);
  return payload;
}

export function decodeEnvelope(payload: Uint8Array): BusEnvelope {
  if (payload.length < SEQUENCE_BYTES) {
    throw new Error(`a bus event of ${payload.length} bytes is shorter than its envelope`);
  }
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  return { sequence: view.getBigUint64(0), message: payload.subarray(SEQUENCE_BYTES) };
}

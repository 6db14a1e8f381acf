import { toBinary } from '@bufbuild/protobuf';
import type { DescMessage, MessageShape } from '@bufbuild/protobuf';

/** Bytes of the length prefix gRPC and gRPC-Web put before every message: flags, then a 32-bit length. */
export const FRAME_HEADER_BYTES = 5;

/**
 * Framed bytes of messages already encoded, by message object. A server that
 * fans one event out to many streams writes the same message object to each,
 * so it is encoded once for all of them, whatever the transport. Entries go
 * away with their messages; a message must not be changed once encoded.
 */
const framedMessages = new WeakMap<object, Uint8Array>();

/**
 * The message as one gRPC length-prefixed frame (flags 0, big-endian length,
 * then its bytes), the same on native gRPC and gRPC-Web: a gRPC-Web response
 * writes it as it is; native gRPC takes the bytes after the prefix
 * ({@link encodedOnce}), since grpc-js adds its own.
 */
export function framedOnce<S extends DescMessage>(schema: S, message: MessageShape<S>): Uint8Array {
  let framed = framedMessages.get(message);
  if (framed === undefined) {
    const bytes = toBinary(schema, message);
    framed = new Uint8Array(FRAME_HEADER_BYTES + bytes.byteLength);
    new DataView(framed.buffer).setUint32(1, bytes.byteLength);
    framed.set(bytes, FRAME_HEADER_BYTES);
    framedMessages.set(message, framed);
  }
  return framed;
}

/** The message's encoded bytes (a view into {@link framedOnce}'s frame: nothing is copied or encoded twice). */
export function encodedOnce<S extends DescMessage>(
  schema: S,
  message: MessageShape<S>,
): Uint8Array {
  return framedOnce(schema, message).subarray(FRAME_HEADER_BYTES);
}

/**
 * Takes `bytes`, the encoding `message` was just decoded from, as its
 * encoding: {@link framedOnce} and {@link encodedOnce} then frame these bytes
 * instead of encoding the message again (a server relaying what it received
 * copies bytes rather than encodes). The bytes are copied into the frame, so
 * the caller may reuse its buffer.
 */
export function adoptEncoded(message: object, bytes: Uint8Array): void {
  if (framedMessages.has(message)) return;
  const framed = new Uint8Array(FRAME_HEADER_BYTES + bytes.byteLength);
  new DataView(framed.buffer).setUint32(1, bytes.byteLength);
  framed.set(bytes, FRAME_HEADER_BYTES);
  framedMessages.set(message, framed);
}

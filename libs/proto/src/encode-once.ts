import { toBinary } from '@bufbuild/protobuf';
import type { DescMessage, MessageShape } from '@bufbuild/protobuf';

/** Bytes of the length prefix gRPC and gRPC-Web put before every message: flags, then a 32-bit length. */
export const FRAME_HEADER_BYTES = 5;

/**
 * Framed bytes of a message already encoded, kept on the message itself. A
 * server that fans one event out to many streams writes the same message
 * object to each, so it is encoded once for all of them, whatever the
 * transport. The frame goes away with its message; a message must not be
 * changed once encoded. A non-enumerable symbol property rather than a
 * WeakMap: a relaying replica with ten native watchers (16 × 2 KB images at
 * 60 msg/s) ran up to 53 full collections in 13 s with the WeakMap and 0-2
 * without, at about a third of the CPU (the replicas benchmark, back to back).
 * Being non-enumerable, it is invisible to equality checks and copies.
 */
const FRAMED = Symbol('trainwatch.framed');
type WithFrame = { [FRAMED]?: Uint8Array };

function framedOf(message: object): Uint8Array | undefined {
  return (message as WithFrame)[FRAMED];
}

function keepFramed(message: object, framed: Uint8Array): void {
  Object.defineProperty(message, FRAMED, { value: framed, enumerable: false });
}

/** Builds a message's whole frame by hand, or undefined to leave it to toBinary. */
export type Framer<S extends DescMessage> = (message: MessageShape<S>) => Uint8Array | undefined;

// Keyed by the schema object; one framer per schema.
const framers = new Map<DescMessage, Framer<DescMessage>>();

/**
 * Has {@link framedOnce} frame messages of `schema` with `framer` first: for
 * messages whose bytes are mostly bytes already encoded elsewhere (an image
 * frame's pictures as the trainer sent them), a framer copies them where
 * toBinary would walk and encode every field again. It must return what
 * toBinary would frame, byte for byte (or bytes that decode to the same
 * message), or undefined for toBinary to do it.
 */
export function frameWith<S extends DescMessage>(schema: S, framer: Framer<S>): void {
  framers.set(schema, framer as unknown as Framer<DescMessage>);
}

/**
 * The message as one gRPC length-prefixed frame (flags 0, big-endian length,
 * then its bytes), the same on native gRPC and gRPC-Web: a gRPC-Web response
 * writes it as it is; native gRPC takes the bytes after the prefix
 * ({@link encodedOnce}), since grpc-js adds its own.
 */
export function framedOnce<S extends DescMessage>(schema: S, message: MessageShape<S>): Uint8Array {
  let framed = framedOf(message);
  if (framed === undefined) {
    framed = framers.get(schema)?.(message) ?? framedByToBinary(schema, message);
    keepFramed(message, framed);
  }
  return framed;
}

function framedByToBinary<S extends DescMessage>(schema: S, message: MessageShape<S>): Uint8Array {
  const bytes = toBinary(schema, message);
  const framed = new Uint8Array(FRAME_HEADER_BYTES + bytes.byteLength);
  new DataView(framed.buffer).setUint32(1, bytes.byteLength);
  framed.set(bytes, FRAME_HEADER_BYTES);
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
  if (framedOf(message) !== undefined) return;
  const framed = new Uint8Array(FRAME_HEADER_BYTES + bytes.byteLength);
  new DataView(framed.buffer).setUint32(1, bytes.byteLength);
  framed.set(bytes, FRAME_HEADER_BYTES);
  keepFramed(message, framed);
}

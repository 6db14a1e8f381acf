import { BaseServerInterceptingCall } from '@grpc/grpc-js/build/src/server-interceptors';
import {
  FRAME_HEADER_BYTES,
  framedOnce,
  preFramed,
  WatchSessionResponseSchema,
  type WatchSessionResponse,
} from '@trainwatch/proto';

/** The grpc-js internals reached here (it has no way to write bytes already framed). */
interface FramingCall {
  handler: { serialize(value: unknown): Buffer };
  serializeMessage?: (value: unknown) => Buffer;
}

let installed = false;

/** Marks what {@link framedTogether} returns: frames to write as they are, in one write. */
const TOGETHER = Symbol('trainwatch.framesTogether');
/** The joined frames of a message and the one written before it, kept on the second message. */
const JOINED = Symbol('trainwatch.joinedFrames');

/** Two watch events' frames, side by side, as one write of a server stream. */
export interface FramesTogether {
  readonly [TOGETHER]: {
    bytes: Buffer;
    messages: readonly [WatchSessionResponse, WatchSessionResponse];
  };
}

type WithJoined = WatchSessionResponse & {
  [JOINED]?: { first: WatchSessionResponse; write: FramesTogether };
};

/**
 * Two watch events for one write of a native stream (what `call.write` takes
 * in place of a message once {@link writePreFramedMessages} is installed):
 * their shared frames side by side, built once for every stream that writes
 * the same two (a batch's scalar event and its image frame go to every up to
 * date watcher together), so each stream takes one write per batch, not two.
 * The client reads two messages; HTTP/2 does not care where frames start.
 * Undefined when the two together are over `maxWriteBytes`, grpc-js' bound
 * on one write (it would end the stream): write them one by one then.
 */
export function framedTogether(
  first: WatchSessionResponse,
  second: WatchSessionResponse,
  maxWriteBytes: number,
): FramesTogether | undefined {
  // Both encoded once for every stream already (the bound is checked first: it is per server).
  const one = framedOnce(WatchSessionResponseSchema, first);
  const two = framedOnce(WatchSessionResponseSchema, second);
  // grpc-js compares a write's length less one frame header with its bound.
  if (one.byteLength + two.byteLength - FRAME_HEADER_BYTES > maxWriteBytes) return undefined;
  // Kept on the second event, the image frame: latest-wins, so only the newest is held anywhere
  // and the joined bytes go with it. On the first (a scalar event) they would live as long as the
  // session's resume ring keeps that event: up to WATCH_RESUME_EVENTS image frames per session.
  const held = (second as WithJoined)[JOINED];
  if (held?.first === first) return held.write;
  const write: FramesTogether = {
    [TOGETHER]: { bytes: Buffer.concat([one, two]), messages: [first, second] },
  };
  Object.defineProperty(second, JOINED, {
    value: { first, write },
    enumerable: false,
    writable: true,
  });
  return write;
}

/**
 * The joined frames {@link framedTogether} builds, as bytes: what a gRPC-Web
 * response writes for the same two events (its frames are gRPC's), shared
 * with every native and gRPC-Web stream writing them.
 */
export function joinedFrames(
  first: WatchSessionResponse,
  second: WatchSessionResponse,
  maxWriteBytes: number,
): Buffer | undefined {
  return framedTogether(first, second, maxWriteBytes)?.[TOGETHER].bytes;
}

/**
 * Makes grpc-js' server write a fanned-out watch event's shared frame
 * (libs/proto grpc-bridge: one encoding, one frame, for every stream) as it
 * is, instead of allocating and copying a framed copy per stream: at 100
 * watchers of 16 × 2 KB images at 60 msg/s that copy was ~200 MB/s of
 * allocation and memcpy on the event loop, for bytes every stream shares.
 * Two events joined by {@link framedTogether} go out as their joined frames.
 * Any other message is framed as grpc-js does (flags 0, big-endian length).
 * Process-wide and idempotent: every grpc-js server of the process gets it.
 */
export function writePreFramedMessages(): void {
  if (installed) return;
  const prototype = BaseServerInterceptingCall.prototype as unknown as FramingCall;
  if (typeof prototype.serializeMessage !== 'function') {
    // A grpc-js upgrade moved its internals: fail loudly rather than lose the shared frames unnoticed.
    throw new Error(
      "sharing frames across watch streams needs grpc-js' BaseServerInterceptingCall.serializeMessage, which this grpc-js version does not have",
    );
  }
  prototype.serializeMessage = function serializeMessage(this: FramingCall, value: unknown) {
    const together = (value as Partial<FramesTogether> | null)?.[TOGETHER];
    if (together !== undefined) {
      // Each still goes through the method's serializer, which counts it for /metrics (their
      // encodings are the shared ones already made, so nothing is encoded again).
      for (const message of together.messages) this.handler.serialize(message);
      return together.bytes;
    }
    const body = this.handler.serialize(value);
    const shared = preFramed(body);
    if (shared !== undefined) return shared;
    const framed = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.byteLength);
    framed.writeUInt8(0, 0);
    framed.writeUInt32BE(body.byteLength, 1);
    body.copy(framed, FRAME_HEADER_BYTES);
    return framed;
  };
  installed = true;
}

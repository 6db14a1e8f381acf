import { BaseServerInterceptingCall } from '@grpc/grpc-js/build/src/server-interceptors';
import { FRAME_HEADER_BYTES, preFramed } from '@trainwatch/proto';

/** The grpc-js internals reached here (it has no way to write bytes already framed). */
interface FramingCall {
  handler: { serialize(value: unknown): Buffer };
  serializeMessage?: (value: unknown) => Buffer;
}

let installed = false;

/**
 * Makes grpc-js' server write a fanned-out watch event's shared frame
 * (libs/proto grpc-bridge: one encoding, one frame, for every stream) as it
 * is, instead of allocating and copying a framed copy per stream: at 100
 * watchers of 16 × 2 KB images at 60 msg/s that copy was ~200 MB/s of
 * allocation and memcpy on the event loop, for bytes every stream shares.
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

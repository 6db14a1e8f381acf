import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { WatchSessionResponseSchema } from './gen/telemetry/v1/dashboard_pb';
import { encodedOnce, framedOnce, FRAME_HEADER_BYTES } from './encode-once';

const event = () =>
  create(WatchSessionResponseSchema, {
    cursor: 7n,
    event: { case: 'batch', value: { epoch: 1, batchIdx: 2, batchLoss: 0.5 } },
  });

describe('framedOnce', () => {
  it('is a gRPC length-prefixed frame of the message: flags 0, big-endian length, the bytes', () => {
    const message = event();
    const framed = framedOnce(WatchSessionResponseSchema, message);
    const bytes = toBinary(WatchSessionResponseSchema, message);
    expect(framed[0]).toBe(0);
    expect(new DataView(framed.buffer, framed.byteOffset).getUint32(1)).toBe(bytes.byteLength);
    expect(framed.subarray(FRAME_HEADER_BYTES)).toEqual(bytes);
  });

  it('encodes a message object once, however many streams take it', () => {
    const message = event();
    const first = framedOnce(WatchSessionResponseSchema, message);
    expect(framedOnce(WatchSessionResponseSchema, message)).toBe(first);
    const payload = encodedOnce(WatchSessionResponseSchema, message);
    // A view into the same frame, not a copy.
    expect(payload.buffer).toBe(first.buffer);
    expect(fromBinary(WatchSessionResponseSchema, payload).cursor).toBe(7n);
    // Another object with equal content is its own entry.
    expect(framedOnce(WatchSessionResponseSchema, event())).not.toBe(first);
  });
});

import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { WireType } from '@bufbuild/protobuf/wire';
import {
  BatchDataSchema,
  FRAME_HEADER_BYTES,
  framedOnce,
  frameWith,
  ImageFrameSchema,
  samplesWire,
  WatchSessionResponseSchema,
  type ImageFrame,
  type WatchSessionResponse,
} from '@trainwatch/proto';
import { imageFrameSize } from '../store/frame-encoding';
import { decodedFrame, frameOfBatch, SIXTEEN_IMAGES } from '../../test/fixtures/decoded-batch';
import { framedImagesEvent, IMAGES_EVENT_HAND_FRAMED } from './images-event-frame';

const batch = SIXTEEN_IMAGES;

/** The frame ingest builds from a trainer's request bytes: its samples remembered as they arrived. */
const receivedFrame = (): ImageFrame => decodedFrame(toBinary(BatchDataSchema, batch)).frame;

/** The same frame built in the server (no samples remembered). */
const builtFrame = (): ImageFrame => frameOfBatch(batch);

const event = (cursor: bigint, frame: ImageFrame): WatchSessionResponse =>
  create(WatchSessionResponseSchema, { cursor, event: { case: 'images', value: frame } });

/** What framedOnce builds with toBinary: the gRPC prefix, then the message's bytes. */
function toBinaryFramed(message: WatchSessionResponse): Buffer {
  const bytes = toBinary(WatchSessionResponseSchema, message);
  const framed = Buffer.alloc(FRAME_HEADER_BYTES + bytes.byteLength);
  framed.writeUInt32BE(bytes.byteLength, 1);
  framed.set(bytes, FRAME_HEADER_BYTES);
  return framed;
}

describe('framedImagesEvent', () => {
  it('knows the contract it writes', () => {
    expect(IMAGES_EVENT_HAND_FRAMED).toBe(true);
  });

  it.each([
    ['received from a trainer', receivedFrame],
    ['built in the server', builtFrame],
  ])('frames the bytes toBinary frames, at every cursor (%s)', (_label, frameOf) => {
    const frame = frameOf();
    expect(samplesWire(frame) !== undefined).toBe(frameOf === receivedFrame);
    // Cursors are wall-clock based (ms × 10^6 + n): past 2^53, up to uint64's end.
    const cursors = [
      0n,
      1n,
      127n,
      128n,
      300n,
      2n ** 53n - 1n,
      2n ** 53n,
      1_796_163_892_862_000_006n,
      2n ** 64n - 1n,
    ];
    for (const cursor of cursors) {
      const message = event(cursor, frame);
      const framed = framedImagesEvent(message);
      expect(framed).toBeDefined();
      expect(Buffer.compare(Buffer.from(framed as Uint8Array), toBinaryFramed(message))).toBe(0);
      const decoded = fromBinary(
        WatchSessionResponseSchema,
        (framed as Uint8Array).subarray(FRAME_HEADER_BYTES),
      );
      expect(decoded.cursor).toBe(cursor);
      expect(decoded.event.case === 'images' && decoded.event.value.images[15]?.imageBytes).toEqual(
        batch.images[15]?.imageBytes,
      );
    }
  });

  it('leaves other events to toBinary', () => {
    const status = create(WatchSessionResponseSchema, {
      cursor: 5n,
      event: { case: 'keepalive', value: {} },
    });
    expect(framedImagesEvent(status)).toBeUndefined();
  });

  it('is what framedOnce writes once registered, the same bytes object for every stream', () => {
    frameWith(WatchSessionResponseSchema, framedImagesEvent);
    const message = event(42n, receivedFrame());
    const first = framedOnce(WatchSessionResponseSchema, message);
    expect(framedOnce(WatchSessionResponseSchema, message)).toBe(first);
    expect(Buffer.compare(Buffer.from(first), toBinaryFramed(message))).toBe(0);
    // Another kind of event still goes through toBinary.
    const other = create(WatchSessionResponseSchema, {
      cursor: 43n,
      event: { case: 'keepalive', value: {} },
    });
    expect(
      Buffer.compare(
        Buffer.from(framedOnce(WatchSessionResponseSchema, other)),
        toBinaryFramed(other),
      ),
    ).toBe(0);
  });
});

describe('imageFrameSize', () => {
  it('is the length toBinary writes, with samples, built, split or carrying unknown fields', () => {
    const part = create(ImageFrameSchema, { ...builtFrame(), firstIndex: 8 });
    const unknown = builtFrame();
    unknown.$unknown = [{ no: 99, wireType: WireType.Varint, data: Uint8Array.of(1) }];
    for (const frame of [receivedFrame(), builtFrame(), part, unknown, create(ImageFrameSchema)]) {
      expect(imageFrameSize(frame)).toBe(toBinary(ImageFrameSchema, frame).byteLength);
    }
  });
});

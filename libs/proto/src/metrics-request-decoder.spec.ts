import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import {
  BatchDataSchema,
  ImageDataSchema,
  MetricsRequestSchema,
  PredictionSchema,
  type BatchData,
  type MetricsRequest,
} from './gen/telemetry/v1/telemetry_pb';
import { DECODED_FIELDS, decodeMetricsRequest } from './metrics-request-decoder';
import { MAX_RECORDED_BYTES, samplesWire } from './samples-wire';

// Counts the decoder's calls to fromBinary: a batch must not need one, anything else must.
jest.mock('@bufbuild/protobuf', () => {
  const actual = jest.requireActual('@bufbuild/protobuf');
  return { ...actual, fromBinary: jest.fn(actual.fromBinary) };
});
const fromBinaryCalls = () => (fromBinary as jest.Mock).mock.calls.length;

/** A deterministic generator, so a failing case can be replayed. */
function random(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  const int = (below: number) => Math.floor(next() * below);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)];
  return { next, int, pick };
}

const NAMES = ['loss', 'lr', 'grad_norm', 'train/acc', 'val/loss', 'système/température', ''];
const DOUBLES = [0, -0, 1.5, -3.25e-300, 1e308, Number.NaN, Infinity, -Infinity];
const INT32S = [0, 1, 127, 128, 300, 2 ** 31 - 1, -1, -(2 ** 31)];

function randomRequest(seed: number): MetricsRequest {
  const r = random(seed);
  const text = () =>
    r.pick([
      ...NAMES,
      'x'.repeat(64),
      'y'.repeat(65),
      'é'.repeat(r.int(40)),
      `name-${r.int(100_000)}`,
    ]);
  const metrics: Record<string, number> = {};
  for (let i = r.int(25); i > 0; i--) metrics[text()] = r.pick(DOUBLES) * r.next();
  const count = r.int(5);
  return create(MetricsRequestSchema, {
    sessionId: r.int(4) === 0 ? '' : `run-${r.int(1000)}`,
    timestampMs: r.pick([0n, 1n, 1_700_000_000_000n, -5n, 2n ** 62n]),
    sequence: r.pick([0n, 1n, 2n ** 63n + 5n]),
    payload: {
      case: 'batchData',
      value: {
        epoch: r.pick(INT32S),
        batchIdx: r.pick(INT32S),
        batchSize: r.pick(INT32S),
        batchLoss: r.pick(DOUBLES),
        timestampMs: r.pick([0n, -1n, 123_456_789_012n]),
        groundTruth: Array.from({ length: r.int(20) }, () => r.pick(INT32S)),
        images: Array.from({ length: count }, () => ({
          imageBytes: Uint8Array.from({ length: r.int(300) }, () => r.int(256)),
          format: r.pick(['jpeg', 'png', '']),
          width: r.pick(INT32S),
          height: r.pick(INT32S),
          channels: r.pick([0, 1, 3]),
        })),
        predictions: Array.from({ length: count }, () => ({
          predictedClass: r.pick(INT32S),
          predictedLabel: text(),
          confidence: Math.fround(r.next()),
        })),
        metrics,
      },
    },
  });
}

/** What a decoder returns or throws, in a form `toStrictEqual` compares. */
function attempt(decode: () => MetricsRequest): { value?: MetricsRequest; error?: string } {
  try {
    return { value: decode() };
  } catch (error) {
    return { error: String(error) };
  }
}

/** Decodes with both and compares; says whether the decoder itself called fromBinary. */
function expectSameAsFromBinary(bytes: Uint8Array): boolean {
  const expected = attempt(() => fromBinary(MetricsRequestSchema, bytes));
  const before = fromBinaryCalls();
  const actual = attempt(() => decodeMetricsRequest(bytes));
  const fellBack = fromBinaryCalls() > before;
  expect(actual).toStrictEqual(expected);
  if (expected.value !== undefined && actual.value !== undefined) {
    // Same property order as well as same values: one object shape for V8, whichever path decoded.
    expect(Object.keys(actual.value)).toEqual(Object.keys(expected.value));
    const [batch, fromBatch] = [actual.value.payload, expected.value.payload];
    if (batch.case === 'batchData' && fromBatch.case === 'batchData') {
      expect(Object.keys(batch.value)).toEqual(Object.keys(fromBatch.value));
      batch.value.images.forEach((image, i) =>
        expect(Object.keys(image)).toEqual(Object.keys(fromBatch.value.images[i])),
      );
    }
  }
  return fellBack;
}

describe('decodeMetricsRequest', () => {
  it('reads every field of the schema it covers: a new field makes this fail until it is read', () => {
    for (const schema of [BatchDataSchema, ImageDataSchema, PredictionSchema]) {
      expect([...DECODED_FIELDS[schema.typeName as keyof typeof DECODED_FIELDS]]).toEqual(
        schema.fields.map((field) => field.number),
      );
    }
    // Of the request, every field but the other payload cases (those requests go to fromBinary).
    const others = MetricsRequestSchema.fields
      .filter((field) => !DECODED_FIELDS['telemetry.v1.MetricsRequest'].includes(field.number as 1))
      .map((field) => field.oneof?.name);
    expect(new Set(others)).toEqual(new Set(['payload']));
  });

  it('returns what fromBinary returns for 1,500 random batches, without calling it', () => {
    for (let seed = 1; seed <= 1_500; seed++) {
      const bytes = toBinary(MetricsRequestSchema, randomRequest(seed));
      expect(expectSameAsFromBinary(bytes)).toBe(false);
      // Through a Buffer too, as grpc-js hands them over (bytes fields are views of it).
      expect(expectSameAsFromBinary(Buffer.from(bytes))).toBe(false);
    }
  });

  it('returns a new message each time, the same again when decoded twice (interned strings)', () => {
    const bytes = toBinary(MetricsRequestSchema, randomRequest(7));
    const first = decodeMetricsRequest(bytes);
    const second = decodeMetricsRequest(bytes);
    expect(second).toStrictEqual(first);
    expect(second).not.toBe(first);
    const a = first.payload.value as { metrics: object };
    const b = second.payload.value as { metrics: object };
    expect(a.metrics).not.toBe(b.metrics);
  });

  it('keeps distinct names apart when their hashes share a slot (10,000 names)', () => {
    const names = Array.from({ length: 10_000 }, (_, i) => `series/${i.toString(36)}`);
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < names.length; i += 500) {
        const metrics = Object.fromEntries(names.slice(i, i + 500).map((name, j) => [name, j]));
        const bytes = toBinary(
          MetricsRequestSchema,
          create(MetricsRequestSchema, { payload: { case: 'batchData', value: { metrics } } }),
        );
        const decoded = decodeMetricsRequest(bytes).payload.value as { metrics: object };
        expect(decoded.metrics).toStrictEqual(metrics);
      }
    }
  });

  it('gives every other payload, unknown fields, merges and odd encodings to fromBinary', () => {
    const batch = toBinary(MetricsRequestSchema, randomRequest(11));
    const cases: [string, Uint8Array][] = [
      [
        'a heartbeat',
        toBinary(
          MetricsRequestSchema,
          create(MetricsRequestSchema, { payload: { case: 'heartbeat', value: {} } }),
        ),
      ],
      ['no bytes at all', new Uint8Array(0)],
      [
        'an unknown field after a batch (fromBinary keeps it in $unknown)',
        concat(batch, new BinaryWriter().tag(99, WireType.Varint).uint32(5).finish()),
      ],
      [
        'the batch field twice (the second merges into the first)',
        concat(batch, batchField({ epoch: 3, images: [{ format: 'png' }] })),
      ],
      [
        'a known field with another wire type',
        batchFieldBytes(new BinaryWriter().tag(1, WireType.Bit64).double(1).finish()),
      ],
      [
        'a metric named "__proto__"',
        batchFieldBytes(
          new BinaryWriter()
            .tag(9, WireType.LengthDelimited)
            .fork()
            .tag(1, WireType.LengthDelimited)
            .string('__proto__')
            .tag(2, WireType.Bit64)
            .double(2)
            .join()
            .finish(),
        ),
      ],
      [
        'invalid UTF-8 in a label',
        batchFieldBytes(
          new BinaryWriter()
            .tag(5, WireType.LengthDelimited)
            .bytes(
              new BinaryWriter()
                .tag(2, WireType.LengthDelimited)
                .bytes(Uint8Array.of(0xc3, 0x28))
                .finish(),
            )
            .finish(),
        ),
      ],
    ];
    for (const [, bytes] of cases) expect(expectSameAsFromBinary(bytes)).toBe(true);
  });

  it('reads what fromBinary also accepts: unpacked ground truth, a map entry with no key or value', () => {
    const unpacked = new BinaryWriter()
      .tag(6, WireType.Varint)
      .int32(4)
      .tag(6, WireType.Varint)
      .int32(-2)
      .finish();
    const emptyEntry = new BinaryWriter()
      .tag(9, WireType.LengthDelimited)
      .bytes(new Uint8Array(0))
      .finish();
    for (const bytes of [batchFieldBytes(unpacked), batchFieldBytes(emptyEntry)])
      expect(expectSameAsFromBinary(bytes)).toBe(false);
    const decoded = decodeMetricsRequest(batchFieldBytes(concat(unpacked, emptyEntry)));
    expect(decoded.payload.value).toMatchObject({ groundTruth: [4, -2], metrics: { '': 0 } });
  });

  it("records a batch's images, predictions and ground truth as encoded, when they are one run", () => {
    const batch = create(BatchDataSchema, {
      epoch: 2,
      batchIdx: 9,
      batchSize: 4,
      images: [0, 1].map((i) => ({ imageBytes: new Uint8Array(300).fill(i), format: 'jpeg' })),
      predictions: [{ predictedClass: 1, confidence: 0.5 }, { predictedLabel: 'cat' }],
      groundTruth: [1, 300],
      batchLoss: 0.25,
      metrics: { lr: 0.1 },
    });
    const encoded = toBinary(BatchDataSchema, batch);
    const decoded = decodeMetricsRequest(batchFieldBytes(encoded)).payload.value as BatchData;
    const samples = samplesWire(decoded);
    // From the first image's tag to the end of the ground truth: exactly those three fields.
    const alone = toBinary(
      BatchDataSchema,
      create(BatchDataSchema, {
        images: batch.images,
        predictions: batch.predictions,
        groundTruth: batch.groundTruth,
      }),
    );
    expect(samples && Buffer.from(samples).equals(Buffer.from(alone))).toBe(true);
    // A view of the request, not a copy.
    expect(samples?.buffer).toBe(decoded.images[0]?.imageBytes.buffer);
  });

  it('records none when another field comes between them, there are none, or they are large', () => {
    const image = new BinaryWriter()
      .tag(4, WireType.LengthDelimited)
      .bytes(toBinary(ImageDataSchema, create(ImageDataSchema, { format: 'jpeg' })))
      .finish();
    const loss = new BinaryWriter().tag(7, WireType.Bit64).double(0.5).finish();
    const truth = new BinaryWriter().tag(6, WireType.Varint).int32(3).finish();
    const split = decodeMetricsRequest(batchFieldBytes(concat(image, loss, truth)));
    expect(samplesWire(split.payload.value as BatchData)).toBeUndefined();
    const none = decodeMetricsRequest(batchFieldBytes(loss));
    expect(samplesWire(none.payload.value as BatchData)).toBeUndefined();
    // Larger than the ring keeps: not recorded (the ring's bound on what it holds alive).
    const large = new BinaryWriter()
      .tag(4, WireType.LengthDelimited)
      .bytes(
        toBinary(
          ImageDataSchema,
          create(ImageDataSchema, { imageBytes: new Uint8Array(MAX_RECORDED_BYTES) }),
        ),
      )
      .finish();
    const big = decodeMetricsRequest(batchFieldBytes(large));
    expect((big.payload.value as BatchData).images).toHaveLength(1);
    expect(samplesWire(big.payload.value as BatchData)).toBeUndefined();
    // Out of field order but one run: recorded (any order decodes the same).
    const reordered = decodeMetricsRequest(batchFieldBytes(concat(loss, truth, image)));
    expect(samplesWire(reordered.payload.value as BatchData)?.byteLength).toBe(
      truth.byteLength + image.byteLength,
    );
  });

  it('fails on truncated or corrupted bytes exactly as fromBinary does', () => {
    const bytes = toBinary(MetricsRequestSchema, randomRequest(23));
    for (let length = 0; length < bytes.length; length += 7) {
      expectSameAsFromBinary(bytes.subarray(0, length));
    }
    const r = random(5);
    for (let i = 0; i < 300; i++) {
      const corrupted = bytes.slice();
      corrupted[r.int(corrupted.length)] = r.int(256);
      expectSameAsFromBinary(corrupted);
    }
  });
});

function concat(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((part) => [...part]));
}

function batchField(init: Parameters<typeof create<typeof BatchDataSchema>>[1]): Uint8Array {
  return batchFieldBytes(toBinary(BatchDataSchema, create(BatchDataSchema, init)));
}

/** A request whose batch_data field holds these bytes. */
function batchFieldBytes(batch: Uint8Array): Uint8Array {
  return new BinaryWriter().tag(3, WireType.LengthDelimited).bytes(batch).finish();
}

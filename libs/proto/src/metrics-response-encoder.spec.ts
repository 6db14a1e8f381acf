import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  AcknowledgmentSchema,
  CommandType,
  MetricsResponseSchema,
  type MetricsResponse,
} from './gen/telemetry/v1/telemetry_pb';
import { ENCODED_FIELDS, encodeMetricsResponse } from './metrics-response-encoder';

const ack = (
  sessionId: string,
  timestampMs: bigint,
  value: { batchIdx?: number; success?: boolean; sequence?: bigint; duplicate?: boolean },
): MetricsResponse =>
  create(MetricsResponseSchema, { sessionId, timestampMs, payload: { case: 'ack', value } });

const expectToBinary = (message: MetricsResponse) => {
  const bytes = encodeMetricsResponse(message);
  expect(Buffer.isBuffer(bytes)).toBe(true);
  expect(Buffer.compare(bytes, Buffer.from(toBinary(MetricsResponseSchema, message)))).toBe(0);
  expect(fromBinary(MetricsResponseSchema, bytes)).toEqual(message);
};

describe('encodeMetricsResponse', () => {
  const SESSION_IDS = ['', 'run-1', 'a'.repeat(127), 'a'.repeat(128), 'système'];
  const TIMES = [
    0n,
    1n,
    127n,
    128n,
    1_700_000_000_123n,
    BigInt(Number.MAX_SAFE_INTEGER),
    2n ** 62n,
    -1n,
  ];
  const BATCHES = [0, 1, 127, 128, 2 ** 31 - 1, -1];
  const SEQUENCES = [0n, 1n, 300n, BigInt(Number.MAX_SAFE_INTEGER), 2n ** 64n - 1n];

  it('writes every acknowledgment exactly as toBinary does', () => {
    let cases = 0;
    for (const sessionId of SESSION_IDS)
      for (const timestampMs of TIMES)
        for (const batchIdx of BATCHES)
          for (const sequence of SEQUENCES)
            for (const flags of [0, 1, 2, 3]) {
              expectToBinary(
                ack(sessionId, timestampMs, {
                  batchIdx,
                  sequence,
                  success: (flags & 1) !== 0,
                  duplicate: (flags & 2) !== 0,
                }),
              );
              cases++;
            }
    expect(cases).toBe(SESSION_IDS.length * TIMES.length * BATCHES.length * SEQUENCES.length * 4);
  });

  it('writes an empty acknowledgment, commands, errors and unknown fields as toBinary does', () => {
    expectToBinary(create(MetricsResponseSchema, { payload: { case: 'ack', value: {} } }));
    expectToBinary(create(MetricsResponseSchema, { sessionId: 'run-1' }));
    expectToBinary(
      create(MetricsResponseSchema, {
        sessionId: 'run-1',
        payload: { case: 'command', value: { type: CommandType.PAUSE } },
      }),
    );
    expectToBinary(
      create(MetricsResponseSchema, {
        sessionId: 'run-1',
        payload: { case: 'error', value: { message: 'too many images' } },
      }),
    );
    // A field a newer server version sent, kept by a relay that decoded it.
    const withUnknown = fromBinary(
      MetricsResponseSchema,
      Buffer.concat([
        Buffer.from(toBinary(MetricsResponseSchema, ack('run-1', 5n, { sequence: 9n }))),
        Buffer.from([(15 << 3) | 0, 1]),
      ]),
    );
    expect(withUnknown.$unknown).toBeDefined();
    expectToBinary(withUnknown);
  });

  it('knows every field of MetricsResponse and Acknowledgment (a new one must be added, or acks go through toBinary)', () => {
    expect(MetricsResponseSchema.fields.map((field) => field.number)).toEqual(
      ENCODED_FIELDS['telemetry.v1.MetricsResponse'],
    );
    expect(AcknowledgmentSchema.fields.map((field) => field.number)).toEqual(
      ENCODED_FIELDS['telemetry.v1.Acknowledgment'],
    );
  });
});

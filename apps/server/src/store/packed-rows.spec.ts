import { POINT_COLUMNS, unpackRows } from './packed-rows';

/** Rows as PostgreSQL packs them: big-endian float8s, row after row. */
function pack(rows: number[][]): Buffer {
  const bytes = Buffer.alloc(rows.flat().length * 8);
  rows.flat().forEach((value, index) => bytes.writeDoubleBE(value, index * 8));
  return bytes;
}

describe('packed rows', () => {
  it('reads each row back with its columns, NaN and infinities included', () => {
    const rows = unpackRows(
      pack([
        [1, 0.5, 1_700_000_000_123],
        [2, Number.NaN, 1_700_000_000_124],
        [2 ** 53 - 1, Number.NEGATIVE_INFINITY, 0],
      ]),
      POINT_COLUMNS,
    );
    expect(rows).toEqual([
      { step: 1, value: 0.5, wall_ms: 1_700_000_000_123 },
      { step: 2, value: Number.NaN, wall_ms: 1_700_000_000_124 },
      { step: 2 ** 53 - 1, value: Number.NEGATIVE_INFINITY, wall_ms: 0 },
    ]);
  });

  it('reads a buffer that does not start on an 8-byte boundary', () => {
    const packed = pack([
      [3, 1.25, 9],
      [4, 2.5, 10],
    ]);
    const shifted = Buffer.alloc(packed.byteLength + 1).subarray(1);
    packed.copy(shifted);
    expect(unpackRows(shifted, POINT_COLUMNS).map((row) => row.value)).toEqual([1.25, 2.5]);
  });

  it('puts rows in order of their first column when they arrive out of it, ties as they came', () => {
    const rows = unpackRows(
      pack([
        [5, 1, 0],
        [2, 2, 0],
        [5, 3, 0],
        [1, 4, 0],
      ]),
      POINT_COLUMNS,
    );
    expect(rows.map((row) => [row.step, row.value])).toEqual([
      [1, 4],
      [2, 2],
      [5, 1],
      [5, 3],
    ]);
  });

  it('answers no rows for none, and refuses bytes that are not whole rows', () => {
    expect(unpackRows(null, POINT_COLUMNS)).toEqual([]);
    expect(() => unpackRows(Buffer.alloc(20), POINT_COLUMNS)).toThrow(
      'packed rows: 20 bytes is not a whole number of 24-byte rows',
    );
  });
});

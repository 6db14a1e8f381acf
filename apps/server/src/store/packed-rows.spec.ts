import { unpackColumns } from './packed-rows';

/** A column as PostgreSQL packs it: big-endian float8s, row after row. */
function pack(values: number[]): Buffer {
  const bytes = Buffer.alloc(values.length * 8);
  values.forEach((value, index) => bytes.writeDoubleBE(value, index * 8));
  return bytes;
}

const POINT = ['step', 'value', 'wall_ms'] as const;

describe('packed columns', () => {
  it('reads each column back, NaN and infinities included', () => {
    const columns = unpackColumns(
      {
        step: pack([1, 2, 2 ** 53 - 1]),
        value: pack([0.5, Number.NaN, Number.NEGATIVE_INFINITY]),
        wall_ms: pack([1_700_000_000_123, 1_700_000_000_124, 0]),
      },
      POINT,
    );
    expect([...columns.step]).toEqual([1, 2, 2 ** 53 - 1]);
    expect([...columns.value]).toEqual([0.5, Number.NaN, Number.NEGATIVE_INFINITY]);
    expect([...columns.wall_ms]).toEqual([1_700_000_000_123, 1_700_000_000_124, 0]);
  });

  it('reads a buffer that does not start on an 8-byte boundary', () => {
    const packed = pack([1.25, 2.5]);
    const shifted = Buffer.alloc(packed.byteLength + 1).subarray(1);
    packed.copy(shifted);
    const columns = unpackColumns(
      { step: pack([3, 4]), value: shifted, wall_ms: pack([9, 10]) },
      POINT,
    );
    expect([...columns.value]).toEqual([1.25, 2.5]);
  });

  it('puts rows in order of the first column when they arrive out of it, ties as they came', () => {
    const columns = unpackColumns(
      { step: pack([5, 2, 5, 1]), value: pack([1, 2, 3, 4]), wall_ms: pack([10, 20, 30, 40]) },
      POINT,
    );
    expect([...columns.step]).toEqual([1, 2, 5, 5]);
    expect([...columns.value]).toEqual([4, 2, 1, 3]);
    expect([...columns.wall_ms]).toEqual([40, 20, 10, 30]);
  });

  it('answers no rows for none, and refuses columns that are not whole float8s or differ in length', () => {
    const none = unpackColumns({ step: null, value: null, wall_ms: null }, POINT);
    expect([none.step.length, none.value.length, none.wall_ms.length]).toEqual([0, 0, 0]);
    expect(() =>
      unpackColumns({ step: Buffer.alloc(20), value: null, wall_ms: null }, POINT),
    ).toThrow('packed column step: 20 bytes is not whole float8s');
    expect(() =>
      unpackColumns({ step: pack([1, 2]), value: pack([1]), wall_ms: pack([1, 2]) }, POINT),
    ).toThrow('packed column value: 1 values, the others 2');
  });
});

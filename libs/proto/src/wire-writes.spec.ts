import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { uint64VarintLength, writeUint64Varint } from './wire-writes';

describe('uint64 varints', () => {
  it.each([
    0n,
    1n,
    127n,
    128n,
    16_383n,
    16_384n,
    2n ** 53n - 1n,
    2n ** 53n,
    1_796_163_892_862_000_006n,
    2n ** 63n,
    2n ** 64n - 1n,
  ])('writes %s as protobuf does, in the length it says', (value) => {
    const expected = new BinaryWriter().uint64(value).finish();
    expect(uint64VarintLength(value)).toBe(expected.byteLength);
    const out = new Uint8Array(12).fill(0xee);
    expect(writeUint64Varint(out, 1, value)).toBe(1 + expected.byteLength);
    expect(out.subarray(1, 1 + expected.byteLength)).toEqual(expected);
    expect(out[0]).toBe(0xee);
    expect(out[1 + expected.byteLength]).toBe(0xee);
  });
});

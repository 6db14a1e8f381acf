import { MAX_POOLED_SLABS, SHARED_SLAB_BYTES, SharedSlabPool } from './shared-frame-memory';

describe('SharedSlabPool', () => {
  it('reuses a batch slab only after the batch released it', () => {
    const pool = new SharedSlabPool();
    const first = pool.memory();
    const a = first.allocate(100);
    a.fill(1);
    // A batch still in flight: the next batch gets fresh memory, the first batch's bytes stay.
    const second = pool.memory();
    second.allocate(100).fill(2);
    expect(a.buffer).not.toBe(second.allocate(8).buffer);
    expect(a.every((byte) => byte === 1)).toBe(true);
    first.release();
    expect(pool.pooled).toBe(1);
    const third = pool.memory().allocate(100);
    expect(third.buffer).toBe(a.buffer);
    expect(pool.pooled).toBe(0);
  });

  it('carves 8-byte aligned buffers from one slab and opens another when it is full', () => {
    const memory = new SharedSlabPool().memory();
    const one = memory.allocate(3);
    const two = memory.allocate(5);
    expect(two.byteOffset).toBe(8);
    expect(two.buffer).toBe(one.buffer);
    expect(one.buffer).toBeInstanceOf(SharedArrayBuffer);
    const three = memory.allocate(SHARED_SLAB_BYTES - 8);
    expect(three.buffer).not.toBe(one.buffer);
  });

  it('keeps at most MAX_POOLED_SLABS and never pools a slab sized for one large frame', () => {
    const pool = new SharedSlabPool();
    const memory = pool.memory();
    for (let slab = 0; slab < MAX_POOLED_SLABS + 5; slab++) memory.allocate(SHARED_SLAB_BYTES);
    memory.allocate(SHARED_SLAB_BYTES * 2);
    memory.release();
    expect(pool.pooled).toBe(MAX_POOLED_SLABS);
    const large = pool.memory();
    large.allocate(SHARED_SLAB_BYTES + 1);
    const before = pool.pooled;
    large.release();
    expect(pool.pooled).toBe(before);
  });
});

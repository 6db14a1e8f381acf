import { ImageBudget } from './image-budget';

/** A budget over string owners whose usefulness the test sets. */
function budget(limit: number, usefulness: Record<string, number> = {}) {
  const evicted: string[] = [];
  const images = new ImageBudget<string>(limit, (owner) => usefulness[owner] ?? 0);
  const admit = (owner: string, bytes: number, label = owner) =>
    images.admit(owner, bytes, () => evicted.push(label));
  return { images, admit, evicted };
}

describe('ImageBudget', () => {
  it('holds frames up to exactly the limit, then evicts to stay within it', () => {
    const { images, admit, evicted } = budget(100);
    admit('a', 60);
    admit('b', 40);
    expect(images.heldBytes).toBe(100);
    expect(evicted).toEqual([]);
    admit('c', 1);
    expect(evicted).toEqual(['a']);
    expect(images.heldBytes).toBe(41);
    expect(images.evictions).toBe(1);
  });

  it('evicts the least useful owner first, the oldest frame on a tie', () => {
    const { admit, evicted } = budget(30, { watched: Infinity, idle: 5, finished: 1 });
    admit('watched', 10);
    admit('idle', 10);
    admit('finished', 10);
    admit('new', 10);
    expect(evicted).toEqual(['finished']);
    admit('other', 10);
    expect(evicted).toEqual(['finished', 'new']);
    admit('idle-again', 20);
    expect(evicted).toEqual(['finished', 'new', 'other', 'idle']);
  });

  it('evicts frames that are not their owner newest before anyone newest frame', () => {
    const { admit, evicted } = budget(30, { history: Infinity, idle: 0 });
    admit('history', 10, 'history-old');
    admit('idle', 10);
    admit('history', 10, 'history-new');
    admit('history', 10, 'history-newer');
    expect(evicted).toEqual(['history-old']);
  });

  it('a frame larger than the whole budget is not held and evicts nothing', () => {
    const { images, admit, evicted } = budget(100);
    admit('a', 50);
    expect(admit('b', 101)).toBeUndefined();
    expect(evicted).toEqual([]);
    expect(images.heldBytes).toBe(50);
  });

  it('an owner alone keeps its newest frame when it fits, evicting its own older ones', () => {
    const { images, admit, evicted } = budget(100);
    admit('a', 60, 'first');
    expect(admit('a', 100, 'second')).toBeDefined();
    expect(evicted).toEqual(['first']);
    expect(images.heldBytes).toBe(100);
  });

  it('release stops counting a frame, once', () => {
    const { images, admit } = budget(100);
    const frame = admit('a', 70);
    if (frame === undefined) throw new Error('expected the frame to be held');
    images.release(frame);
    images.release(frame);
    expect(images.heldBytes).toBe(0);
    expect(images.heldFrames).toBe(0);
  });

  it('never holds more than the limit under churn', () => {
    const { images, admit } = budget(1000);
    for (let index = 0; index < 500; index++) {
      admit(`owner-${index % 37}`, 1 + ((index * 7919) % 300));
      expect(images.heldBytes).toBeLessThanOrEqual(1000);
    }
  });
});

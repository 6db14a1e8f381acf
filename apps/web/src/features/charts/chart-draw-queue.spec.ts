import { ChartDrawQueue } from './chart-draw-queue';

/** One owner object per chart name. */
const charts = { a: {}, b: {}, c: {}, d: {} };

describe('ChartDrawQueue', () => {
  function setUp(costMs: number) {
    const frames: (() => void)[] = [];
    let clock = 0;
    const drawn: string[] = [];
    const queue = new ChartDrawQueue(
      (run) => frames.push(run),
      () => clock,
      12,
    );
    const draw = (name: string) => () => {
      clock += costMs;
      drawn.push(name);
    };
    const frame = () => frames.shift()?.();
    return { queue, draw, drawn, frame, frames };
  }

  it('spreads draws over frames within the budget, one chart one draw, in the order asked', () => {
    const { queue, draw, drawn, frame, frames } = setUp(5);
    queue.enqueue(charts.a, draw('a1'));
    queue.enqueue(charts.b, draw('b'));
    queue.enqueue(charts.c, draw('c'));
    queue.enqueue(charts.a, draw('a2'));
    queue.enqueue(charts.d, draw('d'));
    expect(drawn).toEqual([]);
    expect(frames).toHaveLength(1);
    // 5 ms each, 12 ms a frame: three draws, then the next frame.
    frame();
    expect(drawn).toEqual(['b', 'c', 'a2']);
    frame();
    expect(drawn).toEqual(['b', 'c', 'a2', 'd']);
    expect(queue.size).toBe(0);
    expect(frames).toHaveLength(0);
  });

  it('draws at least one chart a frame, however long it takes, and forgets a cancelled one', () => {
    const { queue, draw, drawn, frame } = setUp(40);
    queue.enqueue(charts.a, draw('a'));
    queue.enqueue(charts.b, draw('b'));
    queue.enqueue(charts.c, draw('c'));
    queue.cancel(charts.b);
    frame();
    expect(drawn).toEqual(['a']);
    frame();
    expect(drawn).toEqual(['a', 'c']);
  });
});

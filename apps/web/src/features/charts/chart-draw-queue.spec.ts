import { manualFrames } from '../../test/manual-frames';
import { ChartDrawQueue, MAX_CHART_DRAWS_PER_FRAME } from './chart-draw-queue';

/** A chart that records which of its data versions were drawn. */
function chart(name: string, drawn: string[]) {
  return { name, draw: (version: number) => () => drawn.push(`${name}@${version}`) };
}

describe('ChartDrawQueue', () => {
  it('draws nothing before a frame, and each chart once per frame with its newest data', () => {
    const frames = manualFrames();
    const queue = new ChartDrawQueue(frames.schedule, 4);
    const drawn: string[] = [];
    const lr = chart('lr', drawn);
    // 60 msg/s can hand a chart several versions between two frames.
    for (let version = 1; version <= 5; version++) queue.request(lr, lr.draw(version));
    expect(drawn).toEqual([]);
    expect(frames.flush()).toBe(1);
    expect(drawn).toEqual(['lr@5']);
    expect(frames.flush()).toBe(0);
  });

  it(`draws at most ${MAX_CHART_DRAWS_PER_FRAME} charts a frame, least recently drawn first, none starved`, () => {
    const frames = manualFrames();
    const queue = new ChartDrawQueue(frames.schedule);
    const drawn: string[] = [];
    const charts = ['loss', 'lr', 'grad_norm', 'train/acc', 'val/loss'].map((name) =>
      chart(name, drawn),
    );
    let version = 0;
    const frame = (): string[] => {
      // Every chart gets new data every frame, as on a live page at 60 msg/s.
      version++;
      for (const each of charts) queue.request(each, each.draw(version));
      drawn.length = 0;
      frames.flush();
      return [...drawn];
    };
    expect(frame()).toEqual(['loss@1', 'lr@1']);
    expect(frame()).toEqual(['grad_norm@2', 'train/acc@2']);
    // val/loss waited two frames: it goes before the charts just drawn.
    expect(frame()).toEqual(['val/loss@3', 'loss@3']);
    expect(frame()).toEqual(['lr@4', 'grad_norm@4']);
    // Over many frames, every chart is drawn equally often.
    const counts = new Map<string, number>();
    for (let i = 0; i < 50; i++) {
      for (const entry of frame()) {
        const name = entry.split('@')[0];
        counts.set(name, (counts.get(name) ?? 0) + 1);
      }
    }
    expect([...counts.values()]).toEqual([20, 20, 20, 20, 20]);
  });

  it('keeps drawing in later frames what one frame could not, then stops asking for frames', () => {
    const frames = manualFrames();
    const queue = new ChartDrawQueue(frames.schedule, 2);
    const drawn: string[] = [];
    for (const name of ['a', 'b', 'c', 'd', 'e']) {
      const each = chart(name, drawn);
      queue.request(each, each.draw(1));
    }
    frames.flush();
    frames.flush();
    expect(queue.size).toBe(1);
    frames.flush();
    expect(drawn).toEqual(['a@1', 'b@1', 'c@1', 'd@1', 'e@1']);
    expect(queue.size).toBe(0);
    expect(frames.flush()).toBe(0);
  });

  it('does not draw a chart cancelled while it waited (unmounted)', () => {
    const frames = manualFrames();
    const queue = new ChartDrawQueue(frames.schedule);
    const drawn: string[] = [];
    const gone = chart('gone', drawn);
    queue.request(gone, gone.draw(1));
    queue.cancel(gone);
    expect(frames.flush()).toBe(0);
    expect(drawn).toEqual([]);
  });

  it('while a drag holds the charts: draws the pressed chart at once, then none until released', () => {
    const frames = manualFrames();
    const queue = new ChartDrawQueue(frames.schedule, 1);
    const drawn: string[] = [];
    const charts = ['loss', 'lr', 'grad_norm'].map((name) => chart(name, drawn));
    for (const each of charts) queue.request(each, each.draw(1));
    // The press on lr: only lr takes its data now (one short task), the others wait.
    queue.hold(charts[1]);
    expect(drawn).toEqual(['lr@1']);
    // Values keep arriving during the drag: nothing is drawn.
    for (const each of charts) queue.request(each, each.draw(2));
    expect(frames.flush()).toBe(0);
    expect(drawn).toHaveLength(1);
    // Released: one chart a frame again, least recently drawn first, with the newest data.
    queue.release();
    frames.flush();
    frames.flush();
    frames.flush();
    expect(drawn.slice(1)).toEqual(['loss@2', 'grad_norm@2', 'lr@2']);
  });

  it('leaves the next chart for the next frame once a slow draw used the frame budget', () => {
    const frames = manualFrames();
    let now = 0;
    const queue = new ChartDrawQueue(frames.schedule, 2, 8, () => now);
    const drawn: string[] = [];
    // A compare chart of 20 runs takes 12 ms to draw; a live chart next to it 1 ms.
    const slow = { draw: () => () => ((now += 12), drawn.push('compare')) };
    const fast = { draw: () => () => ((now += 1), drawn.push('live')) };
    queue.request(slow, slow.draw());
    queue.request(fast, fast.draw());
    frames.flush();
    expect(drawn).toEqual(['compare']);
    frames.flush();
    expect(drawn).toEqual(['compare', 'live']);
    // Two fast draws still share a frame.
    queue.request(fast, fast.draw());
    const other = { draw: () => () => ((now += 1), drawn.push('other')) };
    queue.request(other, other.draw());
    frames.flush();
    expect(drawn.slice(2)).toEqual(['other', 'live']);
  });

  it('refuses a budget below one chart a frame', () => {
    expect(() => new ChartDrawQueue(manualFrames().schedule, 0)).toThrow(
      'perFrame must be a whole number of at least 1, got 0',
    );
  });
});

import { seededRandom } from './random';
import { CIFAR10_CLASSES, SimulatedModel } from './simulated-model';

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

describe('SimulatedModel', () => {
  const model = () => new SimulatedModel(seededRandom(7));

  it('loss starts near ln(10), decays, and spikes now and then', () => {
    const m = model();
    const early = Array.from({ length: 500 }, () => m.batchLoss(0));
    const late = Array.from({ length: 500 }, () => m.batchLoss(1));
    expect(mean(early)).toBeGreaterThan(2);
    expect(mean(late)).toBeLessThan(0.5);
    const median = [...late].sort((a, b) => a - b)[250]!;
    const spikes = late.filter((loss) => loss > median * 1.4).length;
    expect(spikes).toBeGreaterThan(0);
    expect(spikes).toBeLessThan(50);
  });

  it('predictions get more often right and more confident as training progresses', () => {
    const m = model();
    const score = (progress: number) => {
      const predictions = Array.from({ length: 2000 }, (_, i) => ({
        truth: i % 10,
        p: m.predict(i % 10, progress),
      }));
      const right = predictions.filter(({ truth, p }) => p.predictedClass === truth);
      return {
        accuracy: right.length / predictions.length,
        confidence: mean(right.map(({ p }) => p.confidence)),
      };
    };
    const start = score(0);
    const end = score(1);
    expect(start.accuracy).toBeLessThan(0.2);
    expect(end.accuracy).toBeGreaterThan(0.85);
    expect(end.confidence).toBeGreaterThan(start.confidence + 0.3);
  });

  it('wrong predictions name another valid class', () => {
    const m = model();
    for (let i = 0; i < 500; i++) {
      const p = m.predict(3, 0);
      expect(p.predictedClass).toBeGreaterThanOrEqual(0);
      expect(p.predictedClass).toBeLessThan(CIFAR10_CLASSES.length);
      expect(p.confidence).toBeGreaterThan(0);
      expect(p.confidence).toBeLessThan(1);
    }
  });

  it('warms the learning rate up, then anneals it', () => {
    const m = model();
    const lr = (p: number) => m.learningRate(p, 0.1);
    expect(lr(0)).toBeCloseTo(0.01);
    expect(lr(0.05)).toBeCloseTo(0.1);
    expect(lr(0.5)).toBeLessThan(lr(0.1));
    expect(lr(1)).toBeCloseTo(0.001);
  });

  it('settles the gradient norm and keeps validation a little behind training', () => {
    const m = model();
    const mean = (f: () => number) => Array.from({ length: 200 }, f).reduce((a, b) => a + b) / 200;
    expect(mean(() => m.gradNorm(0, 2))).toBeGreaterThan(mean(() => m.gradNorm(1, 0.3)) * 3);
    const late = m.validation(1);
    expect(late.accuracy).toBeLessThan(m.accuracyAt(1));
    expect(late.accuracy).toBeGreaterThan(0.7);
    expect(m.validation(0).loss).toBeGreaterThan(late.loss);
    expect(mean(() => m.batchAccuracy(1))).toBeCloseTo(m.accuracyAt(1), 1);
  });

  it('is repeatable from its seed', () => {
    const a = new SimulatedModel(seededRandom(42));
    const b = new SimulatedModel(seededRandom(42));
    expect([a.batchLoss(0.3), a.predict(1, 0.5)]).toEqual([b.batchLoss(0.3), b.predict(1, 0.5)]);
  });
});

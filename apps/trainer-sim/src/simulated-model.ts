import { CIFAR10_CLASS_NAMES } from '@trainwatch/trainer-sdk';
import type { Random } from './random';

/** CIFAR-10's labels, in its class-index order. */
export const CIFAR10_CLASSES = CIFAR10_CLASS_NAMES;

/** One simulated prediction. */
export interface SimPrediction {
  predictedClass: number;
  confidence: number;
}

/**
 * A pretend model whose numbers move like a real one's as training
 * progresses (0 at the start, 1 at the end): loss decays with noise and the
 * odd spike, accuracy and confidence rise.
 */
export class SimulatedModel {
  constructor(
    private readonly random: Random,
    private readonly classCount = CIFAR10_CLASSES.length,
  ) {}

  /** Accuracy the model has reached at `progress` (chance level at 0, ~0.9 at 1). */
  accuracyAt(progress: number): number {
    const chance = 1 / this.classCount;
    return chance + (0.92 - chance) * (1 - Math.exp(-3.5 * clamp01(progress)));
  }

  /** A batch loss: exponential decay to a floor, ±8% noise, and a 2% chance of a spike. */
  batchLoss(progress: number): number {
    const base = 0.25 + (Math.log(this.classCount) - 0.25) * Math.exp(-3 * clamp01(progress));
    const noisy = base * (1 + 0.08 * this.random.normal());
    const spike = this.random.next() < 0.02 ? 1.5 + this.random.next() : 1;
    return Math.max(0.01, noisy * spike);
  }

  /** Learning rate of a cosine schedule after a 5% linear warmup, from `base` down to 1% of it. */
  learningRate(progress: number, base: number): number {
    const p = clamp01(progress);
    const warmup = 0.05;
    if (p < warmup) return base * (0.1 + (0.9 * p) / warmup);
    const cosine = 0.5 * (1 + Math.cos((Math.PI * (p - warmup)) / (1 - warmup)));
    return base * (0.01 + 0.99 * cosine);
  }

  /** Gradient norm: large and noisy early, settling as the loss does; spikes with the loss. */
  gradNorm(progress: number, loss: number): number {
    const base = 0.6 + 4 * Math.exp(-4 * clamp01(progress));
    return Math.max(0.01, base * (loss / 0.8) ** 0.5 * (1 + 0.15 * this.random.normal()));
  }

  /** Accuracy of one batch: the model's accuracy with batch-sized noise. */
  batchAccuracy(progress: number): number {
    return clamp01(this.accuracyAt(progress) + 0.04 * this.random.normal());
  }

  /** A validation pass: a little worse than training, and the gap grows late in the run. */
  validation(progress: number): { loss: number; accuracy: number } {
    const p = clamp01(progress);
    const gap = 0.02 + 0.06 * p;
    const accuracy = clamp01(this.accuracyAt(p) - gap + 0.01 * this.random.normal());
    const base = 0.25 + (Math.log(this.classCount) - 0.25) * Math.exp(-3 * p);
    return { loss: base * (1.1 + 0.3 * p) * (1 + 0.02 * this.random.normal()), accuracy };
  }

  /** The model's answer for an image of class `truth`. */
  predict(truth: number, progress: number): SimPrediction {
    const correct = this.random.next() < this.accuracyAt(progress);
    const p = clamp01(progress);
    if (correct) {
      const confidence = 0.35 + 0.6 * p + 0.08 * this.random.normal();
      return { predictedClass: truth, confidence: clampConfidence(confidence) };
    }
    const other = (truth + 1 + this.random.int(this.classCount - 1)) % this.classCount;
    const confidence = 0.2 + 0.3 * (1 - p) + 0.06 * this.random.normal();
    return { predictedClass: other, confidence: clampConfidence(confidence) };
  }
}

function clamp01(x: number): number {
  return Math.min(1, Math.max(0, x));
}

function clampConfidence(x: number): number {
  return Math.min(0.99, Math.max(0.05, x));
}

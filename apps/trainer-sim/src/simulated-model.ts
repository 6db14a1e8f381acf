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

import { setTimeout as sleep } from 'node:timers/promises';
import {
  CommandType,
  TrainingSession,
  TrainingStatus,
  type ImageData,
  type SessionError,
} from '@trainwatch/trainer-sdk';
import type { SimOptions } from './args';
import { seededRandom } from './random';
import { offerSimCommands, type SimControls } from './sim-commands';
import { CIFAR10_CLASSES, SimulatedModel } from './simulated-model';
import { syntheticImage } from './synthetic-images';

/** Samples per simulated batch (CIFAR-10's usual). */
const BATCH_SIZE = 64;
/** Peak learning rate of the simulated schedule (SGD on CIFAR-10's usual). */
const BASE_LR = 0.1;

/** How one simulated run ended. */
export interface RunOutcome {
  sessionId: string;
  result: 'completed' | 'stopped';
  batches: number;
  finalLoss: number;
  finalAccuracy: number;
  /** Messages the server never acknowledged (0 when everything arrived). */
  unacknowledged: number;
}

/** Where a run prints. */
export type Print = (line: string) => void;

/**
 * One simulated training run: registers, streams batches at `fps` with
 * synthetic images and predictions, sends epoch summaries, and obeys the
 * dashboard through the SDK's gate.
 */
export async function simulateRun(
  options: SimOptions,
  index: number,
  print: Print,
  interrupt: AbortSignal = new AbortController().signal,
): Promise<RunOutcome> {
  const random = seededRandom(options.seed + index * 7919);
  const model = new SimulatedModel(random);
  const label = options.sessions > 1 ? `[${options.name} #${index + 1}] ` : `[${options.name}] `;
  const say = (line: string) => print(label + line);
  const sessionId = `${options.name}-${Date.now().toString(36)}-${index + 1}`;
  let refused: string | undefined;
  /** Per-batch warnings after the first of their kind, not printed yet. */
  const repeated = new Map<string, number>();
  const session = await TrainingSession.connect({
    address: options.server,
    sessionId,
    clientName: 'trainer-sim',
    config: {
      totalEpochs: options.epochs,
      batchesPerEpoch: options.batches,
      batchSize: BATCH_SIZE,
      modelName: 'simulated-resnet18',
      datasetName: 'CIFAR-10 (synthetic)',
      classNames: [...CIFAR10_CLASSES],
    },
    metadata: {
      hyperparameters: {
        lr: BASE_LR,
        optimizer: 'sgd',
        momentum: 0.9,
        weight_decay: 5e-4,
        nesterov: true,
        batch_size: BATCH_SIZE,
        epochs: options.epochs,
        seed: options.seed + index * 7919,
      },
      tags: ['simulated', 'cifar10'],
      note: 'trainer-sim: synthetic CIFAR-10 run with a cosine learning-rate schedule',
    },
    onError: (error: SessionError) => {
      // One line for the first batch of a kind that repeats every batch; the epoch line counts the rest.
      if (error.kind === 'images-trimmed' || error.kind === 'class-out-of-range') {
        const seen = repeated.get(error.kind);
        repeated.set(error.kind, (seen ?? -1) + 1);
        if (seen !== undefined) return;
      }
      say(`warning: ${error.message}`);
      // Refused for good (a missing or revoked key, another trainer on the id): no use going on.
      if (error.kind === 'terminated') refused ??= error.message;
    },
  });
  session.on('connected', (_config, resumed) => {
    if (!options.quiet)
      say(
        `${resumed ? 'reconnected to' : 'streaming to'} ${options.server} as ${session.sessionId}`,
      );
  });
  if (!options.quiet) {
    say(
      session.stats().connected
        ? `streaming to ${options.server} as ${session.sessionId}`
        : `server not reachable yet; buffering and retrying`,
    );
  }
  session.on('command', (command) => {
    if (!options.quiet)
      say(
        `command ${command.type === CommandType.CUSTOM ? command.customName : CommandType[command.type]} from ${command.issuedBy || 'dashboard'}`,
      );
  });

  const total = options.epochs * options.batches;
  const intervalMs = 1000 / options.fps;
  let nextAt = performance.now();
  let done = 0;
  const controls: SimControls = {
    step: () => done,
    scheduledLr: () => model.learningRate(done / total, BASE_LR),
    lrOverride: undefined,
  };
  offerSimCommands(session, controls);
  let finalLoss = Number.NaN;
  let finalAccuracy = 0;
  let stopped = false;
  let unacknowledged = 0;
  // An interrupt (Ctrl-C) ends the run like STOP does, even while paused.
  const interrupted = new Promise<'stop'>((resolve) => {
    if (interrupt.aborted) resolve('stop');
    interrupt.addEventListener('abort', () => resolve('stop'), { once: true });
  });
  try {
    for (let epoch = 0; epoch < options.epochs && !stopped; epoch++) {
      let lossSum = 0;
      let correct = 0;
      let predicted = 0;
      let batchesInEpoch = 0;
      for (let batchIdx = 0; batchIdx < options.batches; batchIdx++) {
        const wasPaused = session.paused;
        if (wasPaused && !options.quiet) say('paused: waiting for resume or stop');
        // The race covers an interrupt while paused; an open gate would win it, hence the check.
        const gate = await Promise.race([session.gate(), interrupted]);
        if (gate === 'stop' || interrupt.aborted || refused !== undefined) {
          stopped = true;
          break;
        }
        if (wasPaused) {
          if (!options.quiet) say('resumed');
          // Do not rush to make up for the pause.
          nextAt = performance.now();
        }
        if (options.stallAtStep !== undefined && done >= options.stallAtStep) {
          if (!options.quiet) say(`stalled at step ${done} (--stall-at-step): waiting for stop`);
          // Hung like a dead data loader: no batches, only heartbeats, until STOP or Ctrl-C.
          const stop = new Promise<'stop'>((resolve) =>
            session.on('command', (command) => {
              if (command.type === CommandType.STOP) resolve('stop');
            }),
          );
          await Promise.race([interrupted, stop]);
          stopped = true;
          break;
        }
        const progress = done / total;
        const diverged = options.nanAtStep !== undefined && done >= options.nanAtStep;
        const loss = diverged ? Number.NaN : model.batchLoss(progress);
        const truths = Array.from({ length: options.images }, () =>
          random.int(CIFAR10_CLASSES.length),
        );
        const predictions = truths.map((truth) => model.predict(truth, progress));
        const images: ImageData[] = truths.map((truth) =>
          session.encodeImage(syntheticImage(truth, options.imageSize, random), { quality: 80 }),
        );
        session.logBatch({
          epoch,
          batchIdx,
          loss,
          images,
          predictions,
          groundTruth: truths,
          metrics: {
            lr: controls.lrOverride ?? model.learningRate(progress, BASE_LR),
            grad_norm: model.gradNorm(progress, loss),
            'train/acc': model.batchAccuracy(progress),
          },
        });
        done++;
        batchesInEpoch++;
        lossSum += loss;
        finalLoss = loss;
        predictions.forEach((p, i) => (correct += p.predictedClass === truths[i] ? 1 : 0));
        predicted += predictions.length;
        nextAt += intervalMs;
        const wait = nextAt - performance.now();
        if (wait > 0) await sleep(wait);
      }
      if (batchesInEpoch === 0) break;
      const averageLoss = lossSum / batchesInEpoch;
      finalAccuracy = predicted > 0 ? correct / predicted : model.accuracyAt(done / total);
      // A validation pass at the end of each epoch, charted by epoch.
      const validation = model.validation(done / total);
      session.logEpoch({
        epoch,
        averageLoss,
        averageAccuracy: finalAccuracy,
        metrics: { 'val/loss': validation.loss, 'val/acc': validation.accuracy },
      });
      if (!options.quiet) {
        const stats = session.stats();
        say(
          `epoch ${epoch + 1}/${options.epochs}: loss ${averageLoss.toFixed(4)}, accuracy ${(finalAccuracy * 100).toFixed(1)}%` +
            ` (acked ${stats.acked}, buffered ${stats.buffered}${stats.droppedImageFrames ? `, image frames dropped ${stats.droppedImageFrames}` : ''})`,
        );
        for (const [kind, count] of repeated) {
          if (count > 0) say(`warning: ${kind} on ${count} more batch(es) since`);
          repeated.set(kind, 0);
        }
      }
    }
    const stats = await session.close({
      status: TrainingStatus.COMPLETED,
      message: interrupt.aborted
        ? 'interrupted on the trainer'
        : stopped
          ? 'stopped from the dashboard'
          : 'finished all epochs',
    });
    unacknowledged = stats.buffered;
    if (unacknowledged > 0) {
      say(`warning: ${unacknowledged} messages were not acknowledged before closing`);
    }
  } catch (error) {
    await session.close({ status: TrainingStatus.FAILED, message: String(error) });
    throw error;
  }
  if (refused !== undefined)
    throw new Error(`the server refused ${session.sessionId} for good (${refused})`);
  if (stopped) say(`stopped after ${done} batches`);
  return {
    sessionId: session.sessionId,
    result: stopped ? 'stopped' : 'completed',
    batches: done,
    finalLoss,
    finalAccuracy,
    unacknowledged,
  };
}

import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TrainingSession } from '@trainwatch/trainer-sdk';

/** What the custom commands read from and change in the running loop. */
export interface SimControls {
  /** Global step of the next batch. */
  step(): number;
  /** The learning rate the schedule gives at the next batch. */
  scheduledLr(): number;
  /** Set by `set_lr`: replaces the schedule from the next batch on. */
  lrOverride: number | undefined;
}

/**
 * The run's custom commands, as a real loop would offer them:
 * `set_lr` (the `lr` series shows the new value from the next batch) and
 * `save_checkpoint` (writes a small JSON "checkpoint" to a temporary
 * directory of its own and answers its path).
 */
export function offerSimCommands(session: TrainingSession, controls: SimControls): void {
  session.onCommand(
    'set_lr',
    { lr: { type: 'number', description: 'learning rate from the next batch on (> 0)' } },
    ({ lr }) => {
      if (!(lr > 0)) throw new Error(`lr must be > 0, got ${lr}`);
      controls.lrOverride = lr;
      return `lr is ${lr} from step ${controls.step()}`;
    },
    { description: 'Replace the learning-rate schedule with a fixed rate' },
  );
  let directory: Promise<string> | undefined;
  session.onCommand(
    'save_checkpoint',
    { tag: { type: 'text', required: false, description: 'added to the file name' } },
    async ({ tag }) => {
      directory ??= mkdtemp(join(tmpdir(), 'trainer-sim-checkpoints-'));
      const step = controls.step();
      const suffix = tag ? `-${tag.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 40)}` : '';
      const path = join(await directory, `checkpoint-step-${step}${suffix}.json`);
      const lr = controls.lrOverride ?? controls.scheduledLr();
      await writeFile(path, JSON.stringify({ sessionId: session.sessionId, step, lr }) + '\n');
      return path;
    },
    { description: 'Save a checkpoint now and answer its path' },
  );
}

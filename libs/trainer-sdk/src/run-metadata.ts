import {
  MAX_HYPERPARAMETERS,
  MAX_HYPERPARAMETER_TEXT_LENGTH,
  MAX_NOTE_LENGTH,
  MAX_TAGS,
  SERIES_NAME_PATTERN,
  SERIES_NAME_RULE,
  TAG_PATTERN,
  TAG_RULE,
  type RunMetadataSchema,
} from '@trainwatch/proto';
import type { PlainInit } from './init-shape';

type RunMetadataShape = PlainInit<typeof RunMetadataSchema>;
type HyperparameterShape = NonNullable<RunMetadataShape['hyperparameters']>[string];

/** A hyperparameter as a loop has it: a finite number, a text or a flag. */
export type HyperparameterInput = number | string | boolean;

/**
 * Hyperparameters, tags and note of a run (RunMetadata), for
 * `TrainingSessionOptions.metadata` and `TrainingSession.setMetadata`.
 */
export interface RunMetadataInit extends Pick<RunMetadataShape, 'tags' | 'replaceTags' | 'note'> {
  /** Name -> value; names follow the series name rule, numbers must be finite. */
  hyperparameters?: Record<string, HyperparameterInput>;
}

function toValue(value: HyperparameterInput): HyperparameterShape {
  if (typeof value === 'number') return { kind: { case: 'number', value } };
  if (typeof value === 'boolean') return { kind: { case: 'flag', value } };
  return { kind: { case: 'text', value } };
}

function hyperparameterProblem(name: string, value: unknown): string | undefined {
  if (!SERIES_NAME_PATTERN.test(name)) {
    return `hyperparameter ${JSON.stringify(name.slice(0, 80))}: a name must be ${SERIES_NAME_RULE}`;
  }
  if (typeof value === 'number') {
    return Number.isFinite(value)
      ? undefined
      : `hyperparameter ${name}: ${value} is not finite (the server refuses it)`;
  }
  if (typeof value === 'boolean') return undefined;
  if (typeof value === 'string') {
    return value.length <= MAX_HYPERPARAMETER_TEXT_LENGTH
      ? undefined
      : `hyperparameter ${name}: text of ${value.length} characters, at most ${MAX_HYPERPARAMETER_TEXT_LENGTH}`;
  }
  return `hyperparameter ${name}: must be a number, a string or a boolean, got ${typeof value}`;
}

/**
 * The merged metadata of a run: what registration sends (so a restarted
 * server learns all of it) and the checks both paths share. `update` returns
 * the RunMetadata to send (the valid part) and what was left out, and why.
 */
export class RunMetadataState {
  private readonly hyperparameters = new Map<string, HyperparameterInput>();
  private tags: string[] = [];
  private note: string | undefined;

  /** Checks and merges `input`; returns the message part to send and the problems. */
  update(input: RunMetadataInit): { message: RunMetadataShape; problems: string[] } {
    const problems: string[] = [];
    const hyperparameters: Record<string, HyperparameterShape> = {};
    for (const [name, value] of Object.entries(input.hyperparameters ?? {})) {
      const full =
        !this.hyperparameters.has(name) && this.hyperparameters.size >= MAX_HYPERPARAMETERS;
      const problem =
        hyperparameterProblem(name, value) ??
        (full ? `hyperparameter ${name}: a run has at most ${MAX_HYPERPARAMETERS}` : undefined);
      if (problem !== undefined) {
        problems.push(problem);
        continue;
      }
      this.hyperparameters.set(name, value);
      hyperparameters[name] = toValue(value);
    }
    const tags: string[] = [];
    const base = input.replaceTags === true ? [] : this.tags;
    for (const tag of input.tags ?? []) {
      if (typeof tag !== 'string' || !TAG_PATTERN.test(tag)) {
        problems.push(`tag ${JSON.stringify(String(tag).slice(0, 80))}: a tag must be ${TAG_RULE}`);
      } else if (
        !base.includes(tag) &&
        !tags.includes(tag) &&
        base.length + tags.length >= MAX_TAGS
      ) {
        problems.push(`tag ${tag}: a run has at most ${MAX_TAGS} tags`);
      } else {
        tags.push(tag);
      }
    }
    this.tags = [...new Set([...base, ...tags])];
    let note: string | undefined;
    if (input.note !== undefined) {
      if (input.note.length > MAX_NOTE_LENGTH) {
        problems.push(`note of ${input.note.length} characters, at most ${MAX_NOTE_LENGTH}`);
      } else {
        note = input.note;
        this.note = note;
      }
    }
    const message: RunMetadataShape = {
      hyperparameters,
      tags,
      replaceTags: input.replaceTags === true,
    };
    if (note !== undefined) message.note = note;
    return { message, problems };
  }

  /** Everything the run has, for SessionInfo.metadata. */
  merged(): RunMetadataShape {
    const hyperparameters: Record<string, HyperparameterShape> = {};
    for (const [name, value] of this.hyperparameters) hyperparameters[name] = toValue(value);
    const merged: RunMetadataShape = { hyperparameters, tags: [...this.tags], replaceTags: true };
    if (this.note !== undefined) merged.note = this.note;
    return merged;
  }
}

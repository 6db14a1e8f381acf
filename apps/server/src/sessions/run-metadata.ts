import { create } from '@bufbuild/protobuf';
import {
  MAX_HYPERPARAMETER_TEXT_LENGTH,
  MAX_HYPERPARAMETERS,
  MAX_NOTE_LENGTH,
  MAX_SERIES_NAME_LENGTH,
  MAX_TAGS,
  RunMetadataSchema,
  SERIES_NAME_PATTERN,
  SERIES_NAME_RULE,
  TAG_PATTERN,
  TAG_RULE,
  type RunMetadata,
} from '@trainwatch/proto';

/** A name or text cut for an error message, so a 10,000-character value does not echo back whole. */
export function quoted(text: string, max = 64): string {
  return text.length <= max ? JSON.stringify(text) : `${JSON.stringify(text.slice(0, max))}...`;
}

/**
 * Why `update` may not be merged into `current` (the run's metadata so far),
 * or undefined when it may: names, values and the bounds of rules.ts, checked
 * against what the run would hold after the merge.
 */
export function runMetadataProblem(
  update: RunMetadata,
  current: RunMetadata | undefined,
): string | undefined {
  let added = 0;
  for (const name in update.hyperparameters) {
    const value = update.hyperparameters[name];
    const which = `hyperparameter ${quoted(name)}`;
    if (name.length > MAX_SERIES_NAME_LENGTH) {
      return `${which} has a name of ${name.length} characters; at most ${MAX_SERIES_NAME_LENGTH}`;
    }
    if (!SERIES_NAME_PATTERN.test(name)) return `${which} is not a valid name: ${SERIES_NAME_RULE}`;
    const kind = value?.kind;
    if (kind === undefined || kind.case === undefined) return `${which} has no value`;
    if (kind.case === 'number' && !Number.isFinite(kind.value)) {
      return `${which} is ${kind.value}; a number hyperparameter must be finite`;
    }
    if (kind.case === 'text' && kind.value.length > MAX_HYPERPARAMETER_TEXT_LENGTH) {
      return `${which} is a text of ${kind.value.length} characters; at most ${MAX_HYPERPARAMETER_TEXT_LENGTH}`;
    }
    if (current?.hyperparameters[name] === undefined) added += 1;
  }
  const held = current === undefined ? 0 : Object.keys(current.hyperparameters).length;
  if (held + added > MAX_HYPERPARAMETERS) {
    return `the run would have ${held + added} hyperparameters; at most ${MAX_HYPERPARAMETERS}`;
  }
  for (const tag of update.tags) {
    if (!TAG_PATTERN.test(tag)) return `tag ${quoted(tag)} is invalid: ${TAG_RULE}`;
  }
  const tags = mergedTags(update, current);
  if (tags.length > MAX_TAGS) return `the run would have ${tags.length} tags; at most ${MAX_TAGS}`;
  if (update.note !== undefined && update.note.length > MAX_NOTE_LENGTH) {
    return `note has ${update.note.length} characters; at most ${MAX_NOTE_LENGTH}`;
  }
  return undefined;
}

/**
 * The run's metadata after `update`, as a new message (one already sent to
 * watchers is never changed): hyperparameters merge by name, tags are added
 * (or replace the run's when replace_tags), a set note replaces the note.
 */
export function mergeRunMetadata(
  current: RunMetadata | undefined,
  update: RunMetadata,
): RunMetadata {
  return create(RunMetadataSchema, {
    hyperparameters: { ...current?.hyperparameters, ...update.hyperparameters },
    tags: mergedTags(update, current),
    note: update.note ?? current?.note,
  });
}

/** True when the message would change nothing (an empty SessionInfo.metadata, say). */
export function isEmptyRunMetadata(metadata: RunMetadata): boolean {
  for (const _ in metadata.hyperparameters) return false;
  return metadata.tags.length === 0 && !metadata.replaceTags && metadata.note === undefined;
}

function mergedTags(update: RunMetadata, current: RunMetadata | undefined): string[] {
  if (update.replaceTags || current === undefined) return [...new Set(update.tags)];
  return [...new Set([...current.tags, ...update.tags])];
}

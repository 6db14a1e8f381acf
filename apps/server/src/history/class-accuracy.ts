import { MAX_SERIES_NAME_LENGTH, SeriesKind, type EpochData } from '@trainwatch/proto';
import type { Session } from '../sessions/session';

/** Prefix of the per-class accuracy series: `class_acc/<class name>`, one point per epoch. */
export const CLASS_ACCURACY_PREFIX = 'class_acc/';

/** Bounds the per-class series keep (settings; see server-config.ts). */
export interface ClassAccuracyLimits {
  /** Runs with more classes get no class_acc series (CLASS_ACCURACY_MAX_CLASSES; 0: none). */
  classAccuracyMaxClasses: number;
  /** Distinct series per session, loss included (MAX_SERIES_PER_SESSION). */
  maxSeriesPerSession: number;
}

/**
 * Series names of a run's classes: `class_acc/` and the class name with
 * every character a series name may not hold replaced by `_`, cut to the
 * name bound; the class index when it has no name or its name would repeat
 * an earlier one.
 */
export function classAccuracyNames(classNames: readonly string[], classCount: number): string[] {
  const room = MAX_SERIES_NAME_LENGTH - CLASS_ACCURACY_PREFIX.length;
  const taken = new Set<string>();
  const names: string[] = [];
  for (let index = 0; index < classCount; index++) {
    const cleaned = (classNames[index] ?? '').replace(/[^A-Za-z0-9_./-]/g, '_').slice(0, room);
    let name = `${CLASS_ACCURACY_PREFIX}${cleaned === '' ? index : cleaned}`;
    if (taken.has(name)) name = `${CLASS_ACCURACY_PREFIX}${index}`;
    taken.add(name);
    names.push(name);
  }
  return names;
}

/**
 * Adds the accuracy of every class seen in `epoch`'s confusion matrix
 * (row_correct / row_total, exact whatever the cell bound) to the epoch's
 * metrics as `class_acc/<class>`, so they travel the epoch-series path:
 * history, the store, the snapshot and the live `epoch` event. Only for
 * runs of at most `classAccuracyMaxClasses` classes, only for an epoch whose
 * matrix is held, never over a value the trainer sent under the same name
 * or a name it logs per step, and only while the session's series bound
 * has room (classes in order). Returns how many values were added.
 */
export function addClassAccuracy(
  epoch: EpochData,
  session: Session,
  limits: ClassAccuracyLimits,
): number {
  const matrix = session.confusion.get(epoch.epoch);
  if (matrix === undefined || limits.classAccuracyMaxClasses === 0) return 0;
  const accuracies = matrix.accuracies();
  const classNames = session.config?.classNames ?? [];
  const classCount =
    classNames.length > 0 ? classNames.length : Math.max(-1, ...accuracies.keys()) + 1;
  if (classCount > limits.classAccuracyMaxClasses) return 0;
  const names = classAccuracyNames(classNames, classCount);
  let distinct = 1 + session.series.namedCount;
  for (const name in epoch.metrics) if (session.series.get(name) === undefined) distinct += 1;
  let added = 0;
  for (const [truth, accuracy] of [...accuracies].sort(([a], [b]) => a - b)) {
    const name = names[truth];
    if (name === undefined || name in epoch.metrics) continue;
    const series = session.series.get(name);
    if (series === undefined) {
      if (distinct >= limits.maxSeriesPerSession) continue;
      distinct += 1;
    } else if (series.kind !== SeriesKind.EPOCH) continue;
    epoch.metrics[name] = accuracy;
    added += 1;
  }
  return added;
}

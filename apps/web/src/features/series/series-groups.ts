import { LOSS_SERIES, SYSTEM_SERIES_PREFIX } from '@trainwatch/proto';

/** The groups of series panels, in page order. */
export const SERIES_GROUPS = [
  // The loss, un-prefixed names and any prefix without a group of its own.
  { id: 'main', title: 'Loss and metrics', prefix: '' },
  { id: 'train', title: 'train/', prefix: 'train/' },
  { id: 'val', title: 'val/', prefix: 'val/' },
  // The server's per-class accuracy of each epoch, from the confusion matrix (x = epoch).
  { id: 'class-accuracy', title: 'Per-class accuracy', prefix: 'class_acc/' },
  { id: 'system', title: 'system/', prefix: SYSTEM_SERIES_PREFIX },
] as const;

export type SeriesGroupId = (typeof SERIES_GROUPS)[number]['id'];

export interface SeriesGroup {
  id: SeriesGroupId;
  title: string;
  /** Names in the group that pass the filter: loss first, then by name. */
  names: string[];
  /** Names in the group before filtering. */
  total: number;
}

export function groupOf(name: string): SeriesGroupId {
  for (const group of SERIES_GROUPS) {
    if (group.prefix !== '' && name.startsWith(group.prefix)) return group.id;
  }
  return 'main';
}

/**
 * A filter box's text as a predicate on series names, case-insensitive:
 * with `*` or `?` a glob over the whole name (`val/*`, `*acc*`), otherwise
 * a substring. Blank matches everything.
 */
export function seriesFilter(text: string): (name: string) => boolean {
  const query = text.trim().toLowerCase();
  if (query === '') return () => true;
  if (!/[*?]/.test(query)) return (name) => name.toLowerCase().includes(query);
  const source = query
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\/-]/g, '\\$&')))
    .join('');
  const pattern = new RegExp(`^${source}$`);
  return (name) => pattern.test(name.toLowerCase());
}

function byLossThenName(a: string, b: string): number {
  if (a === LOSS_SERIES) return -1;
  if (b === LOSS_SERIES) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Every group that has series, with the names the filter lets through. */
export function groupSeries(names: readonly string[], filter: string): SeriesGroup[] {
  const matches = seriesFilter(filter);
  const byGroup = new Map<SeriesGroupId, { all: number; shown: string[] }>();
  for (const name of names) {
    const id = groupOf(name);
    let slot = byGroup.get(id);
    if (!slot) {
      slot = { all: 0, shown: [] };
      byGroup.set(id, slot);
    }
    slot.all++;
    if (matches(name)) slot.shown.push(name);
  }
  const groups: SeriesGroup[] = [];
  for (const group of SERIES_GROUPS) {
    const slot = byGroup.get(group.id);
    if (!slot) continue;
    groups.push({
      id: group.id,
      title: group.title,
      names: slot.shown.sort(byLossThenName),
      total: slot.all,
    });
  }
  return groups;
}

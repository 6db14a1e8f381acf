import type { SeriesGroupId } from './series-groups';

/** Sessions whose panel layout (collapsed groups, filter) the tab remembers. */
export const MAX_REMEMBERED_BOARDS = 100;

export interface BoardLayout {
  collapsed: ReadonlySet<SeriesGroupId>;
  filter: string;
}

const EMPTY_LAYOUT: BoardLayout = { collapsed: new Set(), filter: '' };

/**
 * Collapsed groups and filter per session, kept in memory while the tab
 * lives, so going back to a session shows it as it was left. Oldest
 * forgotten first beyond MAX_REMEMBERED_BOARDS.
 */
const layouts = new Map<string, BoardLayout>();

export function rememberedLayout(sessionId: string): BoardLayout {
  return layouts.get(sessionId) ?? EMPTY_LAYOUT;
}

export function rememberLayout(sessionId: string, layout: BoardLayout): void {
  layouts.delete(sessionId);
  layouts.set(sessionId, layout);
  while (layouts.size > MAX_REMEMBERED_BOARDS) {
    const oldest = layouts.keys().next().value;
    if (oldest === undefined) break;
    layouts.delete(oldest);
  }
}

/** Forgets every layout (tests). */
export function forgetLayouts(): void {
  layouts.clear();
}

export function rememberedCount(): number {
  return layouts.size;
}

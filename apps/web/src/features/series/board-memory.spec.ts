import {
  forgetLayouts,
  MAX_REMEMBERED_BOARDS,
  rememberedCount,
  rememberedLayout,
  rememberLayout,
} from './board-memory';

describe('board memory', () => {
  it('remembers at most MAX_REMEMBERED_BOARDS sessions, forgetting the least recent', () => {
    forgetLayouts();
    for (let i = 0; i <= MAX_REMEMBERED_BOARDS; i++) {
      rememberLayout(`run-${i}`, { collapsed: new Set(['system']), filter: `f${i}` });
    }
    expect(rememberedCount()).toBe(MAX_REMEMBERED_BOARDS);
    expect(rememberedLayout('run-0').filter).toBe('');
    expect(rememberedLayout(`run-${MAX_REMEMBERED_BOARDS}`).filter).toBe(
      `f${MAX_REMEMBERED_BOARDS}`,
    );
  });
});

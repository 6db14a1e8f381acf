import type { BenchResult } from '../common/result';
import { HISTORY_MAX_ENTRIES, historyEntry, withEntry, type HistoryEntry } from './history';

function result(name: string, patch: Partial<BenchResult> = {}): BenchResult {
  return {
    name,
    title: name,
    quick: false,
    startedAt: '2026-11-29T20:00:00.000Z',
    durationSec: 10,
    method: '',
    tables: [],
    targets: [{ target: `${name} target`, measured: '1 ms', met: true }],
    notes: [],
    runId: '2026-11-29T20:00:00.000Z',
    commit: 'abc1234',
    ...patch,
  };
}

describe('historyEntry', () => {
  it('counts met and judged targets of one full run and lists the misses with their figures', () => {
    const entry = historyEntry([
      result('e2e'),
      result('sdk', {
        targets: [
          { target: 'logBatch median', measured: '31 µs', met: false },
          { target: 'not measurable here', measured: '-', met: null },
        ],
      }),
      result('browser', { error: 'boom', targets: [] }),
    ]);
    expect(entry).toEqual({
      runId: '2026-11-29T20:00:00.000Z',
      date: '2026-11-29T20:00:00.000Z',
      commit: 'abc1234',
      met: 1,
      judged: 3,
      missed: ['logBatch median: 31 µs', 'browser: benchmark failed'],
    });
  });

  it('makes no entry from quick results, mixed runs or results that name no run', () => {
    expect(historyEntry([result('e2e'), result('sdk', { quick: true })])).toBeUndefined();
    expect(historyEntry([result('e2e'), result('sdk', { runId: 'other' })])).toBeUndefined();
    expect(historyEntry([result('e2e', { runId: undefined, commit: undefined })])).toBeUndefined();
  });
});

describe('withEntry', () => {
  const entry = (runId: string): HistoryEntry => ({
    runId,
    date: runId,
    commit: runId,
    met: 1,
    judged: 1,
    missed: [],
  });

  it('replaces the same run and keeps the newest entries up to the bound', () => {
    let history: HistoryEntry[] = [];
    for (let i = 0; i < HISTORY_MAX_ENTRIES + 5; i++)
      history = withEntry(history, entry(`run${i}`));
    expect(history).toHaveLength(HISTORY_MAX_ENTRIES);
    expect(history[0]?.runId).toBe('run5');
    history = withEntry(history, { ...entry('run34'), met: 0 });
    expect(history).toHaveLength(HISTORY_MAX_ENTRIES);
    expect(history.at(-1)).toMatchObject({ runId: 'run34', met: 0 });
  });
});

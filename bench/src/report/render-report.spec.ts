import type { BenchResult } from '../common/result';
import { orderResults, renderReport, type MachineInfo } from './render-report';

const machine: MachineInfo = {
  cpuModel: 'Test CPU @ 2.80GHz',
  cores: 2,
  memoryBytes: 24 * 2 ** 30,
  node: 'v20.20.2',
  os: 'Linux 6.1',
};

function result(name: string, patch: Partial<BenchResult> = {}): BenchResult {
  return {
    name,
    title: `Title of ${name}`,
    quick: false,
    startedAt: '2026-11-22T12:00:00.000Z',
    durationSec: 61.4,
    method: `How ${name} works.`,
    tables: [{ caption: 'Figures', columns: ['target', 'p99'], rows: [['product', '12.0 ms']] }],
    targets: [{ target: `${name} target`, measured: '12.0 ms', met: true }],
    notes: [],
    ...patch,
  };
}

describe('renderReport', () => {
  const when = new Date('2026-11-22T12:30:00.000Z');

  it('names the run and commit every figure comes from, and says when they are mixed', () => {
    const one = renderReport(
      [
        result('e2e', { runId: '2026-11-22T12:00:00.000Z', commit: 'abc1234' }),
        result('sdk', { runId: '2026-11-22T12:00:00.000Z', commit: 'abc1234' }),
      ],
      machine,
      when,
    );
    expect(one).toContain(
      'Every figure below comes from one run: started 2026-11-22 12:00:00 UTC, commit abc1234.',
    );
    expect(one).toContain('_Run 2026-11-22 12:00:00 UTC, 61 s, commit abc1234._');
    const mixed = renderReport(
      [
        result('e2e', { runId: '2026-11-22T12:00:00.000Z', commit: 'abc1234' }),
        result('sdk', { runId: '2026-11-23T08:00:00.000Z', commit: 'def5678' }),
      ],
      machine,
      when,
    );
    expect(mixed).toContain('come from 2 runs');
    expect(mixed).toContain('2026-11-23 08:00:00 UTC (def5678)');
  });

  it('shows the history table, one row per full run', () => {
    const text = renderReport([result('e2e')], machine, when, '', [
      {
        runId: '2026-11-22T12:00:00.000Z',
        date: '2026-11-22T12:00:00.000Z',
        commit: 'abc1234',
        met: 7,
        judged: 9,
        missed: ['logBatch median: 31 µs', 'fps: 35'],
      },
    ]);
    expect(text).toContain('## History');
    expect(text).toContain(
      '| 2026-11-22 12:00:00 UTC | abc1234 | 7 / 9 | logBatch median: 31 µs; fps: 35 |',
    );
  });

  it('names the machine, the date and how to reproduce', () => {
    const text = renderReport([result('e2e')], machine, when);
    expect(text).toContain(
      '| Test CPU @ 2.80GHz | 2 | 24.0 GiB | v20.20.2 | Linux 6.1 | 2026-11-22 12:30:00 UTC |',
    );
    expect(text).toContain('npm run bench');
    expect(text).toContain('_Run 2026-11-22 12:00:00 UTC, 61 s._');
  });

  it('lists every target with met or missed and the reason', () => {
    const text = renderReport(
      [
        result('e2e'),
        result('sdk', {
          targets: [
            { target: 'logBatch median', measured: '31 µs', met: false, why: 'encodes eagerly' },
          ],
        }),
      ],
      machine,
      when,
    );
    expect(text).toContain('| e2e target | 12.0 ms | **met** |  |');
    expect(text).toContain('| logBatch median | 31 µs | **missed** | encodes eagerly |');
    expect(text).toContain('- logBatch median: 31 µs — **missed** (encodes eagerly).');
  });

  it('shows a failed benchmark as failed instead of inventing figures', () => {
    const text = renderReport(
      [result('browser', { error: 'Error: Chromium not found', tables: [], targets: [] })],
      machine,
      when,
    );
    expect(text).toContain('**This benchmark failed in this run:**');
    expect(text).toContain('Error: Chromium not found');
    expect(text).toContain(
      '| Title of browser | benchmark failed | not judged | see its section |',
    );
  });

  it('flags quick runs as not representative', () => {
    const text = renderReport(
      [result('e2e', { quick: true, targets: [{ target: 't', measured: 'm', met: null }] })],
      machine,
      when,
    );
    expect(text).toContain('quick smoke run: figures are not representative');
    expect(text).toContain('| t | m | not judged |  |');
  });

  it('gives a missed target its hand-written reason, and none to a target met', () => {
    const targets = [
      { target: 'fps', measured: '46 fps', met: false },
      { target: 'p99', measured: '9 ms', met: true },
      { target: 'said', measured: '1 ms', met: false, why: 'the benchmark says' },
    ];
    const text = renderReport([result('browser', { targets })], machine, when, '', [], {
      fps: 'the loss chart; see "The loss chart\'s points"',
      p99: 'stale reason',
      said: 'hand-written',
    });
    expect(text).toContain(
      `| fps | 46 fps | **missed** | the loss chart; see "The loss chart's points" |`,
    );
    expect(text).toContain('| p99 | 9 ms | **met** |  |');
    expect(text).toContain('| said | 1 ms | **missed** | the benchmark says |');
    expect(text).not.toContain('stale reason');
  });

  it('includes the hand-written analysis', () => {
    expect(renderReport([result('e2e')], machine, when, '## Why\n\nBecause.\n')).toContain(
      '## Why\n\nBecause.',
    );
  });
});

describe('orderResults', () => {
  it('follows the benchmark order with unknown names last', () => {
    const names = orderResults([
      result('zeta'),
      result('browser'),
      result('ingest'),
      result('e2e'),
    ]).map((r) => r.name);
    expect(names).toEqual(['ingest', 'e2e', 'browser', 'zeta']);
  });
});

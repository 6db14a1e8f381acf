import { markdownTable } from '../common/format';
import type { BenchResult, TargetVerdict } from '../common/result';
import type { HistoryEntry } from './history';

/** The machine the figures come from. */
export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryBytes: number;
  node: string;
  os: string;
}

/** Benchmarks in report order (others follow, by name). */
export const BENCHMARK_ORDER = [
  'ingest',
  'store',
  'auth',
  'webhooks',
  'e2e',
  'command',
  'slow-watcher',
  'sdk',
  'browser',
  'runs-page',
  'compare',
  'image-scrub',
  'replicas',
];

function utc(iso: string): string {
  return iso.replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

/** Which run(s) and commit(s) the figures come from, in a sentence. */
function provenance(results: readonly BenchResult[]): string {
  const runs = new Map<string, string>();
  for (const r of results) runs.set(r.runId ?? r.startedAt, r.commit ?? 'unknown commit');
  if (runs.size === 1) {
    const [[run, commit]] = [...runs];
    return `Every figure below comes from one run: started ${utc(run)}, commit ${commit}.`;
  }
  const list = [...runs].map(([run, commit]) => `${utc(run)} (${commit})`).join('; ');
  return `The figures below come from ${runs.size} runs (each section names its run and commit): ${list}.`;
}

function historySection(history: readonly HistoryEntry[]): string[] {
  if (history.length === 0) return [];
  return [
    '## History',
    '',
    'One row per full `npm run bench` (bench/history.json), newest last, so a regression shows.',
    '',
    markdownTable(
      ['run', 'commit', 'targets met', 'missed'],
      history.map((h) => [utc(h.date), h.commit, `${h.met} / ${h.judged}`, h.missed.join('; ')]),
    ),
    '',
  ];
}

function verdict(target: TargetVerdict): string {
  if (target.met === null) return 'not judged';
  return target.met ? '**met**' : '**missed**';
}

/** Orders results by BENCHMARK_ORDER, unknown names last in name order. */
export function orderResults(results: readonly BenchResult[]): BenchResult[] {
  const rank = (name: string) => {
    const index = BENCHMARK_ORDER.indexOf(name);
    return index === -1 ? BENCHMARK_ORDER.length : index;
  };
  return [...results].sort((a, b) => rank(a.name) - rank(b.name) || a.name.localeCompare(b.name));
}

function section(result: BenchResult): string {
  const lines = [`## ${result.title}`, ''];
  const commit = result.commit === undefined ? '' : `, commit ${result.commit}`;
  const when = `Run ${utc(result.startedAt)}, ${Math.round(result.durationSec)} s${commit}`;
  lines.push(
    `_${when}${result.quick ? ', **quick smoke run: figures are not representative**' : ''}._`,
    '',
  );
  if (result.error) {
    lines.push('**This benchmark failed in this run:**', '', '```', result.error.trim(), '```', '');
    return lines.join('\n');
  }
  lines.push(result.method, '');
  for (const table of result.tables) {
    lines.push(`**${table.caption}**`, '', markdownTable(table.columns, table.rows), '');
  }
  if (result.targets.length > 0) {
    lines.push('Targets:', '');
    for (const target of result.targets) {
      lines.push(
        `- ${target.target}: ${target.measured} — ${verdict(target)}${target.why ? ` (${target.why})` : ''}.`,
      );
    }
    lines.push('');
  }
  if (result.notes.length > 0) {
    lines.push('Notes:', '');
    for (const note of result.notes) lines.push(`- ${note}`);
    lines.push('');
  }
  return lines.join('\n');
}

/**
 * BENCHMARKS.md from the collected results: machine, how to reproduce, every
 * target with met/missed, then a section per benchmark. `analysis` is
 * hand-written text kept between runs (why targets are missed), or empty;
 * `reasons` are hand-written, by target, what the profile of a missed target
 * shows and what would close it: shown in the targets table beside a target
 * this run missed (a target met shows none).
 */
export function renderReport(
  results: readonly BenchResult[],
  machine: MachineInfo,
  generatedAt: Date,
  analysis = '',
  history: readonly HistoryEntry[] = [],
  reasons: Readonly<Record<string, string>> = {},
): string {
  const ordered = orderResults(results);
  const allTargets = ordered.flatMap((r) =>
    r.error
      ? [
          {
            target: r.title,
            measured: 'benchmark failed',
            met: null,
            why: 'see its section',
          } as TargetVerdict,
        ]
      : r.targets.map((t) =>
          t.met === false && t.why === undefined && Object.hasOwn(reasons, t.target)
            ? { ...t, why: reasons[t.target] }
            : t,
        ),
  );
  const quick = ordered.some((r) => r.quick);
  const lines = [
    '# Benchmarks',
    '',
    'Figures from `npm run bench` on the machine below. Each benchmark runs the product and, where the work allows, ' +
      'a bare grpc-js relay that only forwards bytes (the practical limit of this stack on this machine) in the ' +
      'same run, and reports the ratio. These are benchmarks, not tests: nothing in `npm test` depends on them.',
    '',
  ];
  if (quick)
    lines.push(
      '> Some sections come from a `--quick` smoke run; their figures are not representative.',
      '',
    );
  lines.push(
    '## Machine',
    '',
    markdownTable(
      ['CPU', 'cores', 'RAM', 'Node', 'OS', 'report written'],
      [
        [
          machine.cpuModel,
          String(machine.cores),
          `${(machine.memoryBytes / 2 ** 30).toFixed(1)} GiB`,
          machine.node,
          machine.os,
          generatedAt
            .toISOString()
            .replace('T', ' ')
            .replace(/\.\d+Z$/, ' UTC'),
        ],
      ],
    ),
    '',
    'Server, relay, load generators and Chromium share these cores; CPU figures are percent of one core.',
    '',
    provenance(ordered),
    '',
    '## How to reproduce',
    '',
    '```sh',
    'npm ci',
    'npm run bench                      # builds server, web and bench, runs everything (~80 min), rewrites this file',
    'npm run bench -- --quick           # a few seconds per benchmark; writes tmp/bench/BENCHMARKS.md instead',
    'npm run bench -- --only e2e        # one benchmark; the report keeps the latest result of the others',
    '```',
    '',
    'See bench/README.md for what each benchmark does and its flags.',
    '',
    '## Targets',
    '',
    markdownTable(
      ['target', 'measured', 'verdict', 'why'],
      allTargets.map((t) => [t.target, t.measured, verdict(t), t.why ?? '']),
    ),
    '',
  );
  lines.push(...historySection(history));
  if (analysis.trim() !== '') lines.push(analysis.trim(), '');
  for (const result of ordered) lines.push(section(result));
  return `${lines.join('\n').trimEnd()}\n`;
}

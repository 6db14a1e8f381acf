/**
 * Writes the benchmark report from the JSON results in a directory:
 * `node write-report.js --results <dir> --out <file> [--analysis <file>] [--reasons <file>]`.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem, type } from 'node:os';
import { join } from 'node:path';
import type { BenchResult } from '../common/result';
import { historyEntry, withEntry, type HistoryEntry } from './history';
import { renderReport, type MachineInfo } from './render-report';

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index === -1 ? undefined : process.argv[index + 1];
}

function machine(): MachineInfo {
  const cores = cpus();
  return {
    cpuModel: cores[0]?.model.trim() ?? 'unknown',
    cores: cores.length,
    memoryBytes: totalmem(),
    node: process.version,
    os: `${type()} ${release()}`,
  };
}

const resultsDir = argument('--results');
const out = argument('--out');
if (!resultsDir || !out) {
  console.error(
    'usage: write-report --results <dir> --out <file> [--analysis <file>] [--reasons <file>] [--history <file> [--no-history-entry]]',
  );
  process.exit(2);
}
const results = readdirSync(resultsDir)
  .filter((file) => file.endsWith('.json'))
  .map((file) => JSON.parse(readFileSync(join(resultsDir, file), 'utf8')) as BenchResult);
const analysisFile = argument('--analysis');
const analysis = analysisFile && existsSync(analysisFile) ? readFileSync(analysisFile, 'utf8') : '';
// Why each missed target is missed, by target (hand-written, like the analysis).
const reasonsFile = argument('--reasons');
const reasons =
  reasonsFile && existsSync(reasonsFile)
    ? (JSON.parse(readFileSync(reasonsFile, 'utf8')) as Record<string, string>)
    : {};
// A full run of every benchmark adds its row to the history; partial runs only show it.
const historyFile = argument('--history');
let history: HistoryEntry[] =
  historyFile && existsSync(historyFile)
    ? (JSON.parse(readFileSync(historyFile, 'utf8')) as HistoryEntry[])
    : [];
const entry = process.argv.includes('--no-history-entry') ? undefined : historyEntry(results);
if (historyFile && entry !== undefined) {
  history = withEntry(history, entry);
  writeFileSync(historyFile, `${JSON.stringify(history, null, 2)}\n`);
}
writeFileSync(out, renderReport(results, machine(), new Date(), analysis, history, reasons));
console.log(`wrote ${out} from ${results.length} results`);

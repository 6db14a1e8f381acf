/** Number formatting for the report: fixed, readable, and explicit about missing values. */

const MISSING = 'n/a';

/** `12.3 ms` (one decimal under 100, none above). */
export function ms(value: number): string {
  if (!Number.isFinite(value)) return MISSING;
  return `${value < 100 ? value.toFixed(1) : Math.round(value).toString()} ms`;
}

/** `4.2 µs` from microseconds. */
export function us(value: number): string {
  if (!Number.isFinite(value)) return MISSING;
  return `${value < 100 ? value.toFixed(1) : Math.round(value).toString()} µs`;
}

/** `12.3 MB` from bytes (MB = 10^6 bytes, like the targets). */
export function mb(bytes: number): string {
  if (!Number.isFinite(bytes)) return MISSING;
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** Signed `+3.2 MB` / `-1.0 MB` from a byte difference. */
export function mbDelta(bytes: number): string {
  if (!Number.isFinite(bytes)) return MISSING;
  return `${bytes >= 0 ? '+' : '-'}${(Math.abs(bytes) / 1e6).toFixed(1)} MB`;
}

/** `1,234` (rounded). */
export function count(value: number): string {
  if (!Number.isFinite(value)) return MISSING;
  return Math.round(value).toLocaleString('en-US');
}

/** `12.3` with the given decimals. */
export function num(value: number, decimals = 1): string {
  if (!Number.isFinite(value)) return MISSING;
  return value.toFixed(decimals);
}

/** `85%`. */
export function pct(value: number): string {
  if (!Number.isFinite(value)) return MISSING;
  return `${Math.round(value)}%`;
}

/** `0.85×` for a product/baseline ratio. */
export function times(value: number): string {
  if (!Number.isFinite(value)) return MISSING;
  return `${value.toFixed(2)}×`;
}

/** A GitHub-flavoured markdown table; pipes inside cells are escaped. */
export function markdownTable(
  columns: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const line = (cells: readonly string[]) => `| ${cells.map(cell).join(' | ')} |`;
  for (const row of rows) {
    if (row.length !== columns.length) {
      throw new Error(
        `row has ${row.length} cells, table has ${columns.length} columns: ${row.join(', ')}`,
      );
    }
  }
  return [line(columns), line(columns.map(() => '---')), ...rows.map(line)].join('\n');
}

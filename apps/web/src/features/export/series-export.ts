import type { Client } from '@connectrpc/connect';
import type { DashboardService } from '@trainwatch/proto';

/** Buckets one QuerySeries call asks for (the server's largest max_points). */
export const EXPORT_WINDOW_POINTS = 10_000;
/** Most QuerySeries calls one export makes (10,000 points each: 10 million points at most). */
export const MAX_EXPORT_CALLS = 1000;

export interface ExportedPoint {
  step: number;
  value: number;
  wallMs: number;
}

/**
 * Every stored point of a series at full resolution. QuerySeries answers
 * a window exactly when it holds at most max_points points; a window that is
 * not exact is split in two until each half is, so no response nears the
 * 4 MiB bound. At most MAX_EXPORT_CALLS calls.
 */
export async function fullSeries(
  client: Client<typeof DashboardService>,
  sessionId: string,
  name: string,
): Promise<ExportedPoint[]> {
  const points: ExportedPoint[] = [];
  // Windows still to read, in step order (a stack, last window first out).
  const windows: [number, number][] = [[0, 0]];
  let calls = 0;
  while (windows.length > 0) {
    const [from, to] = windows.pop() as [number, number];
    if (++calls > MAX_EXPORT_CALLS) {
      throw new Error(`${name} has more points than one export reads (${MAX_EXPORT_CALLS} calls)`);
    }
    const answer = await client.querySeries({
      sessionId,
      names: [name],
      fromStep: BigInt(from),
      toStep: BigInt(to),
      maxPoints: EXPORT_WINDOW_POINTS,
    });
    const window = answer.series[0];
    if (window === undefined) continue;
    if (window.exact) {
      window.lastSteps.forEach((step, index) =>
        points.push({
          step: Number(step),
          value: window.lasts[index] as number,
          wallMs: Number(window.timestampsMs[index] ?? 0n),
        }),
      );
      continue;
    }
    // to_step 0 means "to the last point": take the last bucket's step as the end.
    const end = to === 0 ? Number(window.lastSteps.at(-1) ?? 0n) : to;
    const middle = Math.floor((from + end) / 2);
    windows.push([middle + 1, end], [from, middle]);
  }
  return points;
}

/** CSV with a header; values as JavaScript prints them (NaN, Infinity kept). */
export function toCsv(rows: readonly { run: string; points: readonly ExportedPoint[] }[]): string {
  const lines = ['run,step,value,wall_time_ms'];
  for (const { run, points } of rows) {
    const quoted = /[",\n]/.test(run) ? `"${run.replace(/"/g, '""')}"` : run;
    for (const point of points)
      lines.push(`${quoted},${point.step},${point.value},${point.wallMs}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Saves `blob` as a file through a temporary link. */
export function download(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  document.body.append(link);
  link.click();
  link.remove();
  URL.revokeObjectURL(url);
}

/** A file name from a series name (`val/acc` -> `val_acc`). */
export function fileNameOf(name: string, extension: string): string {
  return `${name.replace(/[^A-Za-z0-9._-]+/g, '_')}.${extension}`;
}

import {
  LOSS_SERIES,
  SeriesKind,
  type SeriesHistory as SeriesHistoryMessage,
} from '@trainwatch/proto';
import { MIN_SERIES_HISTORY_POINTS } from '../common/limits';
import { SeriesHistory } from './series-history';

/** Bounds of one session's series histories (settings; see server-config.ts). */
export interface SeriesBounds {
  /** Points kept of the `loss` series (LOSS_HISTORY_POINTS). */
  lossHistoryPoints: number;
  /** Points kept of any other series while few series share the total (SERIES_HISTORY_POINTS). */
  seriesHistoryPoints: number;
  /** Points kept across all series but `loss` (SERIES_HISTORY_POINTS_TOTAL). */
  seriesHistoryPointsTotal: number;
}

/**
 * Every series of one session, by name. Memory is bounded per session: the
 * loss keeps up to lossHistoryPoints; the other series share
 * seriesHistoryPointsTotal, each keeping at most seriesHistoryPoints and at
 * least MIN_SERIES_HISTORY_POINTS, so a session holds at most
 * lossHistoryPoints + max(seriesHistoryPointsTotal,
 * MIN_SERIES_HISTORY_POINTS x series) points, whatever the run's length.
 * A new series lowers the share of the others at once (they compact).
 */
export class SessionSeries {
  private readonly byName = new Map<string, SeriesHistory>();
  private pointsPerSeries: number;

  constructor(private readonly bounds: SeriesBounds) {
    this.pointsPerSeries = bounds.seriesHistoryPoints;
  }

  /** Distinct series, loss included once it has a point. */
  get size(): number {
    return this.byName.size;
  }

  /** Series other than `loss`: what counts against the session's series bound besides it. */
  get namedCount(): number {
    return this.byName.size - (this.byName.has(LOSS_SERIES) ? 1 : 0);
  }

  /** Points each series other than `loss` keeps now. */
  get pointsPerNamedSeries(): number {
    return this.pointsPerSeries;
  }

  get(name: string): SeriesHistory | undefined {
    return this.byName.get(name);
  }

  add(name: string, kind: SeriesKind, step: bigint, value: number, timestampMs: number): void {
    let series = this.byName.get(name);
    if (series === undefined) series = this.create(name, kind);
    series.add(step, value, timestampMs);
  }

  /** Every series as a message, ordered by name, each with at most `maxPointsPerSeries` points. */
  toMessages(maxPointsPerSeries = Number.POSITIVE_INFINITY): SeriesHistoryMessage[] {
    const names = [...this.byName.keys()].sort();
    return names.map((name) =>
      (this.byName.get(name) as SeriesHistory).toMessage(maxPointsPerSeries),
    );
  }

  /** Points kept by the series with the most (what a snapshot would carry for it). */
  get largestPointCount(): number {
    let largest = 0;
    for (const series of this.byName.values()) largest = Math.max(largest, series.maxPoints);
    return largest;
  }

  private create(name: string, kind: SeriesKind): SeriesHistory {
    if (name === LOSS_SERIES) {
      const loss = new SeriesHistory(name, SeriesKind.STEP, this.bounds.lossHistoryPoints);
      this.byName.set(name, loss);
      return loss;
    }
    const share = Math.max(
      MIN_SERIES_HISTORY_POINTS,
      Math.min(
        this.bounds.seriesHistoryPoints,
        Math.floor(this.bounds.seriesHistoryPointsTotal / (this.namedCount + 1)),
      ),
    );
    if (share < this.pointsPerSeries) {
      this.pointsPerSeries = share;
      for (const [other, series] of this.byName)
        if (other !== LOSS_SERIES) series.setMaxPoints(share);
    }
    const series = new SeriesHistory(name, kind, this.pointsPerSeries);
    this.byName.set(name, series);
    return series;
  }
}

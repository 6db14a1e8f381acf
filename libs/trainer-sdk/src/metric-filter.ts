import {
  DEFAULT_MAX_METRICS_PER_MESSAGE,
  DEFAULT_MAX_SERIES,
  LOSS_SERIES,
  SERIES_NAME_PATTERN,
  SERIES_NAME_RULE,
} from '@trainwatch/proto';

/** Distinct rejected names remembered so each is reported once, not every batch. */
export const REPORTED_NAMES_BOUND = 1000;

/** Why one named value was left out of a message. */
export interface MetricProblem {
  name: string;
  message: string;
}

/**
 * Checks named values against the contract before they are sent: the server
 * rejects a whole message (a batch's loss included) for one bad name, so a
 * bad name is left out here and reported instead, and the training loop is
 * never interrupted. Applies the same rules as the server: the series name
 * pattern, `loss` reserved for batch_loss, a number per name, at most
 * max_metrics_per_message names per message and max_series distinct series
 * per session (loss and the system series included).
 */
export class MetricFilter {
  private readonly series = new Set<string>([LOSS_SERIES]);
  private readonly reported = new Set<string>();
  maxSeries = DEFAULT_MAX_SERIES;
  maxPerMessage = DEFAULT_MAX_METRICS_PER_MESSAGE;

  constructor(private readonly report: (problem: MetricProblem) => void) {}

  /** Takes the server's limits (0 means "not said": keep the contract default). */
  setLimits(maxSeries: number | undefined, maxPerMessage: number | undefined): void {
    if (maxSeries !== undefined && maxSeries > 0) this.maxSeries = maxSeries;
    if (maxPerMessage !== undefined && maxPerMessage > 0) this.maxPerMessage = maxPerMessage;
  }

  /** Distinct series seen so far (loss included). */
  get seriesCount(): number {
    return this.series.size;
  }

  /** The values that may be sent; `where` names the call in reports ("logBatch 0/12"). */
  filter(
    values: Readonly<Record<string, unknown>> | undefined,
    where: string,
  ): Record<string, number> {
    const kept: Record<string, number> = {};
    if (values === undefined || values === null) return kept;
    let count = 0;
    for (const [name, value] of Object.entries(values)) {
      const problem = this.check(name, value, count);
      if (problem !== undefined) {
        this.once(name, `${where}: left out ${JSON.stringify(name.slice(0, 80))}: ${problem}`);
        continue;
      }
      this.series.add(name);
      kept[name] = value as number;
      count++;
    }
    return kept;
  }

  private check(name: string, value: unknown, count: number): string | undefined {
    if (!SERIES_NAME_PATTERN.test(name)) {
      return `a series name must be ${SERIES_NAME_RULE} (got ${name.length} characters)`;
    }
    if (name === LOSS_SERIES) return `"${LOSS_SERIES}" is the batch loss's series; pass it as loss`;
    // NaN and infinities are numbers and are sent: a diverging run produces them.
    if (typeof value !== 'number') return `the value must be a number, got ${typeof value}`;
    if (count >= this.maxPerMessage) {
      return `a message carries at most ${this.maxPerMessage} named values`;
    }
    if (!this.series.has(name) && this.series.size >= this.maxSeries) {
      return `the session already has ${this.maxSeries} series, the most the server allows`;
    }
    return undefined;
  }

  private once(name: string, message: string): void {
    if (this.reported.has(name)) return;
    if (this.reported.size < REPORTED_NAMES_BOUND) this.reported.add(name);
    this.report({ name, message });
  }
}

/** One frame the budget accounts for; hand it back to {@link ImageBudget.release} when dropped. */
export interface BudgetedFrame<Owner> {
  readonly owner: Owner;
  readonly bytes: number;
}

interface Entry<Owner> extends BudgetedFrame<Owner> {
  readonly onEvicted: () => void;
}

/**
 * A server-wide bound on the bytes of image frames held in memory, shared by
 * every owner (a session). Admitting a frame that does not fit evicts held
 * frames until it does, least useful first:
 *
 * 1. frames that are not their owner's newest (older frames of a history,
 *    including the admitting owner's own), then
 * 2. other owners' newest frames,
 *
 * each in order of the owner's usefulness (lowest first), oldest first on a
 * tie. The frame being admitted counts as its owner's newest, so an owner
 * keeps at least its newest frame whenever that frame alone fits. Held bytes
 * never exceed the limit.
 */
export class ImageBudget<Owner> {
  /** Held frames in admission order, oldest first. */
  private readonly frames = new Set<Entry<Owner>>();
  private held = 0;
  /** Frames evicted to make room since start. */
  evictions = 0;

  /**
   * @param limitBytes most bytes held at once
   * @param usefulness how useful an owner's frames are right now; higher is kept longer
   */
  constructor(
    readonly limitBytes: number,
    private readonly usefulness: (owner: Owner) => number,
  ) {}

  get heldBytes(): number {
    return this.held;
  }

  get heldFrames(): number {
    return this.frames.size;
  }

  /**
   * Holds a frame of `bytes` for `owner`, evicting others first if needed;
   * `onEvicted` runs if this frame is later evicted (the holder must then
   * drop it). Returns undefined, evicting nothing, when the frame alone is
   * larger than the whole budget.
   */
  admit(owner: Owner, bytes: number, onEvicted: () => void): BudgetedFrame<Owner> | undefined {
    if (bytes > this.limitBytes) return undefined;
    while (this.held + bytes > this.limitBytes) {
      const victim = this.leastUseful(owner);
      // Unreachable while bytes <= limit: something is held whenever held + bytes > limit.
      if (victim === undefined) return undefined;
      this.drop(victim);
      this.evictions += 1;
      victim.onEvicted();
    }
    const entry: Entry<Owner> = { owner, bytes, onEvicted };
    this.frames.add(entry);
    this.held += bytes;
    return entry;
  }

  /** Stops accounting for a frame its holder dropped (replaced or forgotten); idempotent. */
  release(frame: BudgetedFrame<Owner>): void {
    this.drop(frame as Entry<Owner>);
  }

  private drop(entry: Entry<Owner>): void {
    if (this.frames.delete(entry)) this.held -= entry.bytes;
  }

  private leastUseful(admitting: Owner): Entry<Owner> | undefined {
    const newest = new Map<Owner, Entry<Owner>>();
    for (const entry of this.frames) newest.set(entry.owner, entry);
    // The admitted frame becomes its owner's newest: everything the owner holds is older.
    newest.delete(admitting);
    const scores = new Map<Owner, number>();
    const scoreOf = (owner: Owner): number => {
      let score = scores.get(owner);
      if (score === undefined) {
        score = this.usefulness(owner);
        scores.set(owner, score);
      }
      return score;
    };
    let best: Entry<Owner> | undefined;
    let bestTier = 0;
    let bestScore = 0;
    for (const entry of this.frames) {
      const tier = newest.get(entry.owner) === entry ? 1 : 0;
      if (best !== undefined && tier > bestTier) continue;
      const score = scoreOf(entry.owner);
      // Strictly less: on a tie the older frame (met first) stays the victim.
      if (best === undefined || tier < bestTier || score < bestScore) {
        best = entry;
        bestTier = tier;
        bestScore = score;
      }
    }
    return best;
  }
}

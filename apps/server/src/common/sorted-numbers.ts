/** First index of the ascending `list` whose value is >= `value` (binary search). */
export function lowerBound(list: readonly number[], value: number): number {
  let low = 0;
  let high = list.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((list[middle] as number) < value) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** Inserts `value` into the ascending `list`, keeping it ascending. */
export function insertSorted(list: number[], value: number): void {
  list.splice(lowerBound(list, value), 0, value);
}

import { useEffect, useReducer, useRef, useState } from 'react';
import { RefreshGate } from './refresh-gate';

/**
 * Most often a readout's text (a latest value, a count) changes on screen.
 * The charts move on every frame; a number rewritten 46 times a second
 * cannot be read and costs the page a layout each frame (bench/analysis.md,
 * "The dashboard's readouts").
 */
export const READOUT_REFRESH_MS = 250;

/**
 * `text` as shown: a change passes at once when the last one shown is older
 * than `intervalMs`, else when the interval is up (the component renders
 * again then), so what is on screen is never older than `intervalMs` and
 * an unchanged text costs the DOM nothing.
 */
export function useRefreshedText(text: string, intervalMs = READOUT_REFRESH_MS): string {
  const [, showLatest] = useReducer((renders: number) => renders + 1, 0);
  const [gate] = useState(() => new RefreshGate(intervalMs, showLatest, Date.now));
  useEffect(() => () => gate.dispose(), [gate]);
  const shown = useRef(text);
  if (shown.current !== text && gate.pass()) shown.current = text;
  return shown.current;
}

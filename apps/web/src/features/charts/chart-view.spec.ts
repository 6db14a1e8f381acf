import { waitFor } from '@testing-library/react';
import { bindToLocation, ChartView } from './chart-view';

describe('ChartView', () => {
  afterEach(() => globalThis.history.replaceState(null, '', '#/'));

  it('records one drag as one zoom and one history entry, whichever charts replay it', async () => {
    globalThis.history.replaceState(null, '', '#/sessions/run-1');
    const view = new ChartView();
    const unbind = bindToLocation(view);
    const entries = globalThis.history.length;
    const seen: (string | undefined)[] = [];
    view.subscribe((state) => seen.push(state.zoom && `${state.zoom.from}~${state.zoom.to}`));
    // The chart the drag was on first, then the synced charts, each rounded to its own width.
    view.zoomFromDrag({ from: 100, to: 200 });
    view.zoomFromDrag({ from: 100.4, to: 199.7 });
    view.zoomFromDrag({ from: 99.8, to: 200.2 });
    expect(view.state.zoom).toEqual({ from: 100, to: 200 });
    expect(seen).toEqual(['100~200']);
    expect(view.zoomGeneration).toBe(1);
    // The zoom's entry is written after the next paint, not before its frame.
    expect(globalThis.history.length).toBe(entries);
    await waitFor(() => expect(globalThis.history.length).toBe(entries + 1));
    expect(globalThis.location.hash).toBe('#/sessions/run-1?zoom=100%7E200');
    // The next drag is a gesture of its own.
    view.zoomFromDrag({ from: 120, to: 150 });
    expect(view.state.zoom).toEqual({ from: 120, to: 150 });
    await waitFor(() => expect(globalThis.history.length).toBe(entries + 2));
    expect(globalThis.location.hash).toBe('#/sessions/run-1?zoom=120%7E150');
    unbind();
  });

  it('writes a replacing change after the next paint, the newest once; a zoom folds it in', async () => {
    globalThis.history.replaceState(null, '', '#/sessions/run-1');
    const view = new ChartView();
    const unbind = bindToLocation(view);
    const replaced = jest.spyOn(globalThis.history, 'replaceState');
    // Scrubbing: three arrow keys before a frame.
    view.update({ cursorStep: 10 }, 'replace');
    view.update({ cursorStep: 11 }, 'replace');
    view.update({ cursorStep: 12 }, 'replace');
    expect(view.state.cursorStep).toBe(12);
    expect(globalThis.location.hash).toBe('#/sessions/run-1');
    await waitFor(() => expect(globalThis.location.hash).toBe('#/sessions/run-1?step=12'));
    expect(replaced).toHaveBeenCalledTimes(1);
    // A zoom's push holds whatever replacement still waited.
    view.update({ cursorStep: 13 }, 'replace');
    view.update({ zoom: { from: 1, to: 2 } });
    await waitFor(() =>
      expect(globalThis.location.hash).toBe('#/sessions/run-1?step=13&zoom=1%7E2'),
    );
    // Past the next paint, where a further write would land: none does.
    await new Promise<void>((resolve) =>
      requestAnimationFrame(() => {
        setTimeout(resolve, 0);
      }),
    );
    expect(replaced).toHaveBeenCalledTimes(1);
    replaced.mockRestore();
    unbind();
  });

  it('keeps one entry per zoom written after a paint, with a later replacement folded in', async () => {
    globalThis.history.replaceState(null, '', '#/sessions/run-1');
    const view = new ChartView();
    const unbind = bindToLocation(view);
    const entries = globalThis.history.length;
    // Two zooms before a frame (a drag, then a reset): two Back steps.
    view.update({ zoom: { from: 10, to: 20 } });
    view.update({ zoom: undefined });
    expect(globalThis.history.length).toBe(entries + 1);
    expect(globalThis.location.hash).toBe('#/sessions/run-1?zoom=10%7E20');
    // A cursor move waiting with the reset's push is written into its entry.
    view.update({ cursorStep: 5 }, 'replace');
    await waitFor(() => expect(globalThis.location.hash).toBe('#/sessions/run-1?step=5'));
    expect(globalThis.history.length).toBe(entries + 2);
    // A control's push writes a waiting zoom first: each keeps its entry.
    view.update({ zoom: { from: 1, to: 3 } });
    view.update({ logScale: true });
    expect(globalThis.history.length).toBe(entries + 4);
    expect(globalThis.location.hash).toBe('#/sessions/run-1?step=5&zoom=1%7E3&log=1');
    unbind();
  });

  it('tells hover listeners of a change of the hovered step only', () => {
    const view = new ChartView();
    const heard: (number | undefined)[] = [];
    const unsubscribe = view.subscribeHover((step) => heard.push(step));
    view.hover(10);
    view.hover(10);
    view.hover(12);
    view.hover(undefined);
    unsubscribe();
    view.hover(5);
    expect(heard).toEqual([10, 12, undefined]);
    expect(view.hoverStep).toBe(5);
    // Hovering is not part of the view: nothing in the URL.
    expect(view.state.cursorStep).toBeUndefined();
  });
});

interface FakeObserver {
  readonly targets: Set<Element>;
  readonly callback: IntersectionObserverCallback;
}

function observers(): Set<FakeObserver> {
  return (globalThis as unknown as { __intersectionObservers: Set<FakeObserver> })
    .__intersectionObservers;
}

/** Elements some IntersectionObserver is watching now. */
export function observedElements(): Element[] {
  return [...observers()].flatMap((observer) => [...observer.targets]);
}

/** Reports `elements` as scrolled into (or out of) view to whoever observes them. */
export function setOnScreen(elements: readonly Element[], onScreen: boolean): void {
  for (const observer of [...observers()]) {
    const entries = elements
      .filter((element) => observer.targets.has(element))
      .map(
        (target) =>
          ({
            target,
            isIntersecting: onScreen,
            intersectionRatio: onScreen ? 1 : 0,
          }) as unknown as IntersectionObserverEntry,
      );
    if (entries.length > 0) {
      observer.callback(entries, observer as unknown as IntersectionObserver);
    }
  }
}

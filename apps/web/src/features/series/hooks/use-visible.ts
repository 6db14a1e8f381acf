import { useEffect, useState, type RefObject } from 'react';
import { visibilityObserver } from './visibility-observer';

/** True while `ref`'s element is on screen or near it; false until the first report. */
export function useVisible(ref: RefObject<Element | null>): boolean {
  const [visible, setVisible] = useState(false);
  useEffect(() => {
    const element = ref.current;
    if (!element) return;
    return visibilityObserver.observe(element, setVisible);
  }, [ref]);
  return visible;
}

import type { ComponentType } from 'react';
import type { SessionStore } from '../session/store/session-store';

/**
 * What every panel gets. Props stay the same while data streams in, so a
 * panel re-renders only for what it subscribes to (the session view via
 * useSessionView/useSessionSelect, one series via useSeriesVersion).
 */
export interface PanelProps {
  sessionId: string;
  store: SessionStore;
  /** The series a series panel shows. */
  series?: string;
}

export interface PanelDefinition {
  /** What the panel shows, for people reading the registry. */
  title: string;
  /** A component, or React.lazy(() => import(...)) for a heavy one. */
  component: ComponentType<PanelProps>;
}

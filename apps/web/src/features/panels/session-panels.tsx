import { memo } from 'react';
import { AlertRulesEditor } from '../alerts/components/alert-rules-editor';
import { ChartToolbar } from '../charts/chart-toolbar';
import { EpochChart } from '../charts/epoch-chart';
import { LossChart } from '../charts/loss-chart';
import { AuditLog } from '../commands/components/audit-log';
import { ImageGrid } from '../images/image-grid';
import { ProgressPanel } from '../session/components/progress-panel';
import { useSessionSelect, useSessionView } from '../session/hooks/use-session-view';
import type { SessionView } from '../session/store/session-store';
import type { PanelProps } from './panel-props';

/*
 * The session's fixed panels bound to its store: each picks what it shows
 * from the view, so one that did not change skips the frame.
 */

const NO_CLASS_NAMES: readonly string[] = [];
const latestFrame = (view: SessionView) => view.latestFrame;
const classNames = (view: SessionView) => view.summary?.config?.classNames ?? NO_CLASS_NAMES;
const epochs = (view: SessionView) => view.epochs;
const commands = (view: SessionView) => view.commands;
const alertRules = (view: SessionView) => view.alertRules;
const alertSettings = (view: SessionView) => view.alertSettings;

export const ProgressPanelOfSession = memo(function ProgressPanelOfSession({ store }: PanelProps) {
  const view = useSessionView(store);
  return (
    <ProgressPanel
      summary={view.summary}
      performance={view.performance}
      latencyMs={view.latencyMs}
    />
  );
});

export const LossPanelOfSession = memo(function LossPanelOfSession({
  sessionId,
  store,
}: PanelProps) {
  const view = useSessionView(store);
  const summary = view.summary;
  return (
    <LossChart
      sessionId={sessionId}
      loss={view.loss}
      revision={view.lossRevision}
      historyStartStep={summary?.partialHistory ? Number(summary.historyStartStep) : undefined}
      clock={store.series.clock}
      batchesPerEpoch={summary?.config?.batchesPerEpoch ?? 0}
    />
  );
});

/** The page's chart controls (x axis, smoothing, scales, zoom, step cursor), above its charts. */
export const ChartControlsOfSession = memo(function ChartControlsOfSession() {
  return <ChartToolbar />;
});

export const ImagesPanelOfSession = memo(function ImagesPanelOfSession({ store }: PanelProps) {
  const frame = useSessionSelect(store, latestFrame);
  const names = useSessionSelect(store, classNames);
  return <ImageGrid frame={frame} classNames={names} />;
});

export const EpochsPanelOfSession = memo(function EpochsPanelOfSession({ store }: PanelProps) {
  return <EpochChart epochs={useSessionSelect(store, epochs)} />;
});

export const CommandsPanelOfSession = memo(function CommandsPanelOfSession({ store }: PanelProps) {
  return <AuditLog entries={useSessionSelect(store, commands)} />;
});

export const AlertRulesPanelOfSession = memo(function AlertRulesPanelOfSession({
  sessionId,
  store,
}: PanelProps) {
  return (
    <AlertRulesEditor
      sessionId={sessionId}
      rules={useSessionSelect(store, alertRules)}
      settings={useSessionSelect(store, alertSettings)}
    />
  );
});

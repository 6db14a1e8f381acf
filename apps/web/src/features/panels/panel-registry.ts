import { ImageHistoryPanel } from '../image-history/image-history-panel';
import { ConfusionPanel } from '../per-class/confusion-panel';
import { SeriesBoard } from '../series/components/series-board';
import { SERIES_PANELS } from '../series/series-panel-kinds';
import type { PanelDefinition } from './panel-props';
import {
  AlertRulesPanelOfSession,
  ChartControlsOfSession,
  CommandsPanelOfSession,
  EpochsPanelOfSession,
  ImagesPanelOfSession,
  LossPanelOfSession,
  ProgressPanelOfSession,
} from './session-panels';

/**
 * Every panel the session page can show, by kind. The page lays them out
 * from SESSION_LAYOUT; the series board picks 'series-*' by the series'
 * kind. A new kind of panel is one entry here (and one in the layout).
 */
export const PANEL_REGISTRY = {
  progress: { title: 'Progress, throughput, resources', component: ProgressPanelOfSession },
  'chart-controls': {
    title: 'Chart controls: x axis, smoothing, scales, zoom, step cursor',
    component: ChartControlsOfSession,
  },
  loss: { title: 'Loss per batch, smoothed, zoomable', component: LossPanelOfSession },
  'series-board': { title: 'Every series, grouped by prefix', component: SeriesBoard },
  ...SERIES_PANELS,
  images: { title: 'Latest sample images with predictions', component: ImagesPanelOfSession },
  epochs: { title: 'Average loss and accuracy per epoch', component: EpochsPanelOfSession },
  commands: { title: 'Command audit log', component: CommandsPanelOfSession },
  'image-history': {
    title: 'Stored image frames, scrubbed by step',
    component: ImageHistoryPanel,
  },
  'per-class': {
    title: 'Confusion matrix and accuracy per class, per epoch',
    component: ConfusionPanel,
  },
  'alert-rules': {
    title: 'Watchdog rules in effect and webhooks of the run, editable by operators',
    component: AlertRulesPanelOfSession,
  },
} as const satisfies Record<string, PanelDefinition>;

export type PanelKind = keyof typeof PANEL_REGISTRY;

/** A row of the session page: one panel across, or columns of panels. */
export type PanelRow = { kind: PanelKind } | { columns: readonly (readonly PanelKind[])[] };

/** The session page, top to bottom. */
export const SESSION_LAYOUT: readonly PanelRow[] = [
  { kind: 'progress' },
  { kind: 'chart-controls' },
  { kind: 'loss' },
  { kind: 'series-board' },
  { columns: [['images'], ['epochs', 'commands']] },
  { kind: 'image-history' },
  { kind: 'per-class' },
  { kind: 'alert-rules' },
];

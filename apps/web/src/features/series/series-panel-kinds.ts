import { SeriesKind } from '@trainwatch/proto';
import type { PanelDefinition } from '../panels/panel-props';
import { SeriesPanel } from './components/series-panel';

/** The panels of single series, by what their x axis is. */
export const SERIES_PANELS = {
  'series-step': { title: 'A series per step (batches, scalars)', component: SeriesPanel },
  'series-epoch': { title: 'A series per epoch (EpochData.metrics)', component: SeriesPanel },
} as const satisfies Record<string, PanelDefinition>;

export type SeriesPanelKind = keyof typeof SERIES_PANELS;

/** Every SeriesKind of the contract has a panel; a new kind fails to compile here. */
const PANEL_OF_SERIES_KIND: Record<SeriesKind, SeriesPanelKind> = {
  [SeriesKind.UNSPECIFIED]: 'series-step',
  [SeriesKind.STEP]: 'series-step',
  [SeriesKind.EPOCH]: 'series-epoch',
};

export function seriesPanelKind(kind: SeriesKind): SeriesPanelKind {
  return PANEL_OF_SERIES_KIND[kind];
}

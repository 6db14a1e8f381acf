import { create } from '@bufbuild/protobuf';
import { ImageFrameSchema, type ImageFrame } from '@trainwatch/proto';
import { memo, useEffect, useMemo, useState } from 'react';
import { useDashboardClient } from '../../common/transport-context';
import { ImageGrid } from '../images/image-grid';
import type { PanelProps } from '../panels/panel-props';
import { useSessionSelect } from '../session/hooks/use-session-view';
import type { SessionView } from '../session/store/session-store';
import { confusionView, type ConfusionView } from './live-confusion';

/**
 * Classes drawn as matrix rows and columns at most: the ones with the most
 * predictions. A 10,000-class run shows its busiest classes; per-class
 * accuracy below lists the same classes.
 */
export const MAX_MATRIX_CLASSES = 24;

const NO_CLASS_NAMES: readonly string[] = [];
const classNamesOf = (view: SessionView) => view.summary?.config?.classNames ?? NO_CLASS_NAMES;
const confusionVersion = (view: SessionView) => view.confusionVersion;
const liveConfusion = (view: SessionView) => view.confusion;

/** The classes to draw: those with most predictions (as truth or prediction), in class order. */
export function busiestClasses(view: ConfusionView, limit = MAX_MATRIX_CLASSES): number[] {
  const seen = new Map<number, number>();
  for (const [truth, cells] of view.cells) {
    for (const [predicted, count] of cells) {
      seen.set(truth, (seen.get(truth) ?? 0) + count);
      seen.set(predicted, (seen.get(predicted) ?? 0) + count);
    }
  }
  return [...seen.entries()]
    .sort((a, b) => b[1] - a[1] || a[0] - b[0])
    .slice(0, limit)
    .map(([index]) => index)
    .sort((a, b) => a - b);
}

/** Only the images of `frame` whose (truth, predicted) pair is the one asked for. */
export function imagesOfPair(frame: ImageFrame, truth: number, predicted: number): ImageFrame {
  const keep: number[] = [];
  frame.groundTruth.forEach((value, index) => {
    if (value === truth && frame.predictions[index]?.predictedClass === predicted) keep.push(index);
  });
  return create(ImageFrameSchema, {
    ...frame,
    images: keep.map((index) => frame.images[index]!),
    predictions: keep.map((index) => frame.predictions[index]!),
    groundTruth: keep.map((index) => frame.groundTruth[index]!),
  });
}

/**
 * A confusion matrix per epoch with an epoch slider: the newest epochs live
 * from the watch stream (every batch's predictions added as they arrive),
 * older ones from GetConfusionMatrix. A cell opens the stored sample images
 * of that (truth, predicted) pair (GetImageFrames filtered by the pair).
 */
export const ConfusionPanel = memo(function ConfusionPanel({ sessionId, store }: PanelProps) {
  const client = useDashboardClient();
  const names = useSessionSelect(store, classNamesOf);
  const version = useSessionSelect(store, confusionVersion);
  const live = useSessionSelect(store, liveConfusion);
  // `live` is mutable: its version says when its epochs may have changed.
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const liveEpochs = useMemo(() => live.epochNumbers(), [live, version]);
  const [storedEpochs, setStoredEpochs] = useState<number[]>([]);
  const [chosen, setChosen] = useState<number | undefined>(undefined);
  const [fetched, setFetched] = useState<ConfusionView | undefined>(undefined);
  const [pair, setPair] = useState<{ truth: number; predicted: number } | undefined>();
  const [pairFrames, setPairFrames] = useState<ImageFrame[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  const newestLive = liveEpochs.at(-1);

  // The epochs the server has (stored ones too); asked again when a new epoch starts.
  useEffect(() => {
    let cancelled = false;
    client
      .getConfusionMatrix({ sessionId })
      .then((answer) => !cancelled && setStoredEpochs(answer.epochs))
      .catch((failure: unknown) => !cancelled && setError(String(failure)));
    return () => {
      cancelled = true;
    };
  }, [client, sessionId, newestLive]);

  const epochs = useMemo(
    () => [...new Set([...storedEpochs, ...liveEpochs])].sort((a, b) => a - b),
    [storedEpochs, liveEpochs],
  );
  // Follows the newest epoch until someone picks one.
  const epoch = chosen ?? epochs.at(-1);
  const liveView = epoch === undefined ? undefined : live.get(epoch);

  useEffect(() => {
    if (epoch === undefined || liveView !== undefined) return;
    let cancelled = false;
    client
      .getConfusionMatrix({ sessionId, epoch })
      .then((answer) => {
        if (!cancelled) setFetched(answer.matrix ? confusionView(answer.matrix) : undefined);
      })
      .catch((failure: unknown) => !cancelled && setError(String(failure)));
    return () => {
      cancelled = true;
    };
  }, [client, sessionId, epoch, liveView]);

  const view = liveView ?? (fetched?.epoch === epoch ? fetched : undefined);

  const openPair = (truth: number, predicted: number) => {
    setPair({ truth, predicted });
    setPairFrames(undefined);
    client
      .getImageFrames({ sessionId, truthClass: truth, predictedClass: predicted, maxFrames: 8 })
      .then((answer) =>
        setPairFrames(answer.frames.map((frame) => imagesOfPair(frame, truth, predicted))),
      )
      .catch((failure: unknown) => setError(String(failure)));
  };

  const label = (index: number) => names[index] ?? String(index);
  const classes = view === undefined ? [] : busiestClasses(view);
  const biggest = Math.max(
    1,
    ...classes.flatMap((truth) => [...(view?.cells.get(truth)?.values() ?? [])]),
  );

  return (
    <section className="panel confusion-panel" data-testid="confusion-panel">
      <h2>Per class</h2>
      {error && (
        <p className="muted small" data-testid="confusion-error">
          {error}
        </p>
      )}
      {epochs.length === 0 ? (
        <p className="muted" data-testid="confusion-empty">
          No predictions yet: the matrix fills as batches with predictions arrive.
        </p>
      ) : (
        <label className="small">
          {/* Epochs are 0-based on the wire; the page counts them from 1, as Progress does. */}
          Epoch{' '}
          <output data-testid="confusion-epoch">{epoch === undefined ? '' : epoch + 1}</output>
          <input
            type="range"
            data-testid="confusion-epoch-slider"
            aria-valuetext={epoch === undefined ? undefined : `epoch ${epoch + 1}`}
            min={0}
            max={epochs.length - 1}
            value={Math.max(0, epochs.indexOf(epoch ?? 0))}
            onChange={(event) => setChosen(epochs[Number(event.target.value)])}
          />
        </label>
      )}
      {view !== undefined && (
        <>
          <p className="small muted" data-testid="confusion-total">
            {view.predictions} predictions
            {view.uncounted > 0 ? `, ${view.uncounted} in cells not kept` : ''}
          </p>
          <div className="confusion-scroll">
            <table className="confusion-matrix" data-testid="confusion-matrix">
              <thead>
                <tr>
                  <th scope="col">truth \ predicted</th>
                  {classes.map((predicted) => (
                    <th key={predicted} scope="col">
                      {label(predicted)}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {classes.map((truth) => (
                  <tr key={truth}>
                    <th scope="row">{label(truth)}</th>
                    {classes.map((predicted) => {
                      const count = view.cells.get(truth)?.get(predicted) ?? 0;
                      const share = count / biggest;
                      return (
                        <td key={predicted}>
                          <button
                            type="button"
                            className={truth === predicted ? 'cell cell-diagonal' : 'cell'}
                            data-testid="confusion-cell"
                            data-truth={truth}
                            data-predicted={predicted}
                            data-count={count}
                            disabled={count === 0}
                            style={{ opacity: count === 0 ? 0.3 : 0.35 + 0.65 * share }}
                            aria-label={`${label(truth)} predicted as ${label(predicted)}: ${count}`}
                            onClick={() => openPair(truth, predicted)}
                          >
                            {count}
                          </button>
                        </td>
                      );
                    })}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <h3 className="small">Accuracy per class</h3>
          <ul className="class-accuracy small" data-testid="class-accuracy">
            {[...view.rows.entries()]
              .sort((a, b) => a[0] - b[0])
              .slice(0, MAX_MATRIX_CLASSES)
              .map(([truth, row]) => (
                <li key={truth} data-testid="class-accuracy-row" data-class={truth}>
                  {label(truth)}:{' '}
                  <span className="numeric">{((100 * row.correct) / row.total).toFixed(1)}%</span>{' '}
                  <span className="muted">({row.total})</span>
                </li>
              ))}
          </ul>
        </>
      )}
      {pair !== undefined && (
        <div data-testid="confusion-pair-images">
          <h3 className="small">
            {label(pair.truth)} predicted as {label(pair.predicted)}
          </h3>
          {pairFrames === undefined ? (
            <p className="muted small">Loading stored images…</p>
          ) : pairFrames.length === 0 ? (
            <p className="muted small" data-testid="confusion-pair-none">
              No stored image of this pair.
            </p>
          ) : (
            pairFrames.map((frame) => (
              <div
                key={String(frame.step)}
                data-testid="confusion-pair-frame"
                data-step={String(frame.step)}
              >
                <p className="small muted">step {String(frame.step)}</p>
                <ImageGrid frame={frame} classNames={names} />
              </div>
            ))
          )}
        </div>
      )}
    </section>
  );
});

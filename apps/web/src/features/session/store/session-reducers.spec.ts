import { create } from '@bufbuild/protobuf';
import {
  AlertAction,
  AlertRuleKind,
  CustomCommandSpecSchema,
  LOSS_SERIES,
  SeriesKind,
  TrainingStatus,
  WATCH_EVENT_DELIVERY,
  WatchSessionResponseSchema,
} from '@trainwatch/proto';
import {
  batch,
  epochEvent,
  imageFrame,
  imagesEvent,
  lossAt,
  metadataEvent,
  runMetadata,
  scalarsEvent,
  seriesHistory,
  snapshot,
  statusUpdate,
} from '../../../test/fixtures';
import { manualFrames } from '../../../test/manual-frames';
import { SeriesStore } from '../../series/store/series-store';
import { SESSION_REDUCERS } from './session-reducers';
import { CursorGapError, SessionStore } from './session-store';

function makeStore(series?: SeriesStore) {
  const frames = manualFrames();
  const store = new SessionStore({ schedule: frames.schedule, now: () => 42, series });
  return { store, frames };
}

function points(store: SessionStore, name: string) {
  const entry = store.series.get(name);
  if (!entry) return undefined;
  return { kind: entry.kind, xs: Array.from(entry.points.xs), ys: Array.from(entry.points.ys) };
}

/** A run's scalar events after a snapshot at cursor 0: batches with metrics, scalars, epochs. */
function liveRun() {
  return [
    batch(1n, 0, 10, { lr: 0.1, 'train/acc': 0.2 }),
    batch(2n, 1, 10, { lr: 0.09, 'train/acc': 0.3 }),
    scalarsEvent(3n, 1, { 'system/cpu_percent': 50, grad_norm: 1.5 }),
    batch(4n, 2, 10, { lr: 0.08, 'train/acc': Number.NaN }),
    epochEvent(5n, 0, 0.7, 0.4, { 'val/loss': 0.9, 'val/acc': 0.35 }),
    scalarsEvent(6n, 3, { 'system/cpu_percent': 55, grad_norm: Number.POSITIVE_INFINITY }),
    epochEvent(7n, 1, 0.6, 0.5, { 'val/loss': 0.8, 'val/acc': 0.45 }),
  ];
}

describe('session reducers', () => {
  it('take the custom commands from the snapshot, and a status event that changes them', () => {
    const { store, frames } = makeStore();
    const first = snapshot(0n, []);
    if (first.event.case !== 'snapshot') throw new Error('unreachable');
    first.event.value.customCommands = [
      create(CustomCommandSpecSchema, { name: 'save_checkpoint' }),
    ];
    store.apply(first);
    store.apply(statusUpdate(1n, { status: TrainingStatus.RUNNING }));
    frames.flush();
    expect(store.getView().customCommands.map((spec) => spec.name)).toEqual(['save_checkpoint']);
    store.apply(
      statusUpdate(2n, {
        status: TrainingStatus.RUNNING,
        customCommands: { commands: [{ name: 'set_lr' }, { name: 'save_checkpoint' }] },
      }),
    );
    frames.flush();
    expect(store.getView().customCommands.map((spec) => spec.name)).toEqual([
      'set_lr',
      'save_checkpoint',
    ]);
    store.apply(statusUpdate(3n, { status: TrainingStatus.RUNNING, customCommands: {} }));
    frames.flush();
    expect(store.getView().customCommands).toEqual([]);
  });

  it('have one reducer per watch event kind of the contract', () => {
    expect(Object.keys(SESSION_REDUCERS).sort()).toEqual(Object.keys(WATCH_EVENT_DELIVERY).sort());
  });

  it('turn batch metrics, scalars and epoch metrics into named series', () => {
    const { store, frames } = makeStore();
    store.apply(snapshot(0n, []));
    for (const event of liveRun()) store.apply(event);
    frames.flush();
    expect(points(store, LOSS_SERIES)).toEqual({
      kind: SeriesKind.STEP,
      xs: [0, 1, 2],
      ys: [lossAt(0), lossAt(1), lossAt(2)],
    });
    expect(points(store, 'lr')).toEqual({
      kind: SeriesKind.STEP,
      xs: [0, 1, 2],
      ys: [0.1, 0.09, 0.08],
    });
    expect(points(store, 'system/cpu_percent')).toEqual({
      kind: SeriesKind.STEP,
      xs: [1, 3],
      ys: [50, 55],
    });
    // Epoch metrics are charted by epoch, under their own names.
    expect(points(store, 'val/loss')).toEqual({
      kind: SeriesKind.EPOCH,
      xs: [0, 1],
      ys: [0.9, 0.8],
    });
    expect(store.getView().epochs.map((e) => e.averageLoss)).toEqual([0.7, 0.6]);
    // Non-finite values are kept as gaps and counted.
    expect(points(store, 'train/acc')?.ys).toEqual([0.2, 0.3, NaN]);
    expect(store.series.get('train/acc')?.points.nonFinite).toBe(1);
    expect(store.series.get('grad_norm')?.points.nonFinite).toBe(1);
    expect(store.getView().cursor).toBe(7n);
  });

  it('a late snapshot gives the same series as the live deltas did', () => {
    const live = makeStore();
    live.store.apply(snapshot(0n, []));
    for (const event of liveRun()) live.store.apply(event);
    live.frames.flush();

    // What the server's snapshot holds for the same run (ordered by name).
    const names = live.store.series.names().sort();
    const late = makeStore();
    late.store.apply(
      snapshot(7n, [], {
        series: names.map((name) => {
          const entry = live.store.series.get(name);
          if (!entry) throw new Error(name);
          const pairs = Array.from(entry.points.xs, (x, i): [number, number] => [
            x,
            entry.points.ys[i],
          ]);
          return seriesHistory(name, pairs, entry.kind);
        }),
      }),
    );
    late.frames.flush();
    expect(late.store.series.names().sort()).toEqual(names);
    for (const name of names) expect(points(late.store, name)).toEqual(points(live.store, name));
    expect(late.store.series.get('train/acc')?.points.nonFinite).toBe(1);
  });

  it('takes the loss from loss_history when the snapshot has no `loss` series', () => {
    const { store, frames } = makeStore();
    store.apply(snapshot(0n, [0, 1, 2]));
    frames.flush();
    expect(points(store, LOSS_SERIES)?.xs).toEqual([0, 1, 2]);
    // With `loss` among the series, that one is used (same points on a real server).
    const other = makeStore();
    other.store.apply(snapshot(0n, [0, 1, 2], { series: [seriesHistory('loss', [[5, 1]])] }));
    expect(points(other.store, LOSS_SERIES)?.xs).toEqual([5]);
  });

  it('shows the metadata of the snapshot and replaces it with each metadata event', () => {
    const { store, frames } = makeStore();
    store.apply(
      snapshot(0n, [], {
        session: {
          metadata: runMetadata({
            hyperparameters: { lr: { kind: { case: 'number', value: 0.1 } } },
            tags: ['baseline'],
          }),
        },
      }),
    );
    frames.flush();
    expect(store.getView().summary?.metadata?.tags).toEqual(['baseline']);
    store.apply(
      metadataEvent(
        1n,
        runMetadata({
          hyperparameters: {
            lr: { kind: { case: 'number', value: 0.05 } },
            optimizer: { kind: { case: 'text', value: 'adam' } },
          },
          tags: ['baseline', 'long'],
          note: 'second try',
        }),
      ),
    );
    frames.flush();
    const metadata = store.getView().summary?.metadata;
    expect(metadata?.tags).toEqual(['baseline', 'long']);
    expect(metadata?.note).toBe('second try');
    expect(metadata?.hyperparameters.lr.kind).toEqual({ case: 'number', value: 0.05 });
  });

  it('replaces the rules in effect and the webhooks with each alert settings event', () => {
    const { store, frames } = makeStore();
    store.apply(snapshot(0n, []));
    frames.flush();
    expect(store.getView().alertRules).toEqual([]);
    store.apply(
      create(WatchSessionResponseSchema, {
        cursor: 1n,
        event: {
          case: 'alertSettings',
          value: {
            rules: [{ kind: AlertRuleKind.STALL, window: 2000n, action: AlertAction.NOTIFY }],
            webhookUrls: ['https://hooks.example.com/…'],
            updatedBy: 'ops',
          },
        },
      }),
    );
    frames.flush();
    const view = store.getView();
    expect(view.alertRules.map((rule) => [rule.kind, rule.window])).toEqual([
      [AlertRuleKind.STALL, 2000n],
    ]);
    expect(view.alertSettings?.webhookUrls).toEqual(['https://hooks.example.com/…']);
    expect(view.alertSettings?.updatedBy).toBe('ops');
    expect(view.cursor).toBe(1n);
  });

  it('advances the cursor on scalars and metadata, not on images', () => {
    const { store } = makeStore();
    store.apply(snapshot(3n, []));
    store.apply(scalarsEvent(4n, 0, { lr: 1 }));
    store.apply(imagesEvent(4n, imageFrame(0, 1)));
    store.apply(metadataEvent(5n, runMetadata({ tags: ['a'] })));
    expect(() => store.apply(scalarsEvent(5n, 1, { lr: 1 }))).toThrow(CursorGapError);
    expect(() => store.apply(metadataEvent(7n, runMetadata({})))).toThrow(/expected cursor 6/);
  });

  it('tells each series panel about its own series only, once per frame', () => {
    const { store, frames } = makeStore();
    store.apply(
      snapshot(0n, [], {
        series: [
          seriesHistory('lr', [[0, 1]]),
          seriesHistory('val/acc', [[0, 1]], SeriesKind.EPOCH),
        ],
      }),
    );
    frames.flush();
    const lr = jest.fn();
    const acc = jest.fn();
    store.series.subscribe('lr', lr);
    store.series.subscribe('val/acc', acc);
    const version = store.series.get('lr')?.version ?? -1;
    for (let step = 1; step <= 100; step++)
      store.apply(batch(BigInt(step), step, 10, { lr: step }));
    expect(lr).not.toHaveBeenCalled();
    frames.flush();
    expect(lr).toHaveBeenCalledTimes(1);
    expect(acc).not.toHaveBeenCalled();
    expect(store.series.get('lr')?.version).toBe(version + 1);
  });

  it('keeps at most the series bound and counts the values it ignores', () => {
    const { store, frames } = makeStore(new SeriesStore(3, 16, 16));
    store.apply(snapshot(0n, []));
    store.apply(batch(1n, 0, 10, { a: 1, b: 2, c: 3 }));
    frames.flush();
    // loss, a and b fit; c does not.
    expect(store.series.size).toBe(3);
    expect(store.series.get('c')).toBeUndefined();
    expect(store.series.ignoredValues).toBe(1);
    for (let step = 1; step < 100; step++)
      store.apply(batch(BigInt(step + 1), step, 10, { a: step }));
    frames.flush();
    expect(store.series.get('a')?.points.length).toBeLessThanOrEqual(16);
    expect(store.series.get('loss')?.points.length).toBeLessThanOrEqual(16);
  });
});

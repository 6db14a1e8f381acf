import { create } from '@bufbuild/protobuf';
import {
  CommandState,
  CommandType,
  ConfusionMatrixSchema,
  ConnectionState,
  ImageFrameSchema,
  WatchSessionResponseSchema,
  TrainingStatus,
} from '@trainwatch/proto';
import {
  auditEntry,
  batch,
  epochEvent,
  imageFrame,
  imagesEvent,
  keepalive,
  snapshot,
  statusEvent,
  statusUpdate,
} from '../../../test/fixtures';
import { manualFrames } from '../../../test/manual-frames';
import { CONFUSION_REFRESH_MS } from '../../per-class/live-confusion';
import {
  CursorGapError,
  IMAGE_REFRESH_MS,
  MAX_AUDIT_ENTRIES,
  MAX_EPOCHS,
  SessionStore,
} from './session-store';

function makeStore() {
  const frames = manualFrames();
  const store = new SessionStore({ schedule: frames.schedule, now: () => 42 });
  return { store, frames };
}

describe('SessionStore', () => {
  it('changes the shown image frame at most once per IMAGE_REFRESH_MS, ending on the latest', () => {
    jest.useFakeTimers();
    try {
      const frames = manualFrames();
      let now = 1000;
      const store = new SessionStore({ schedule: frames.schedule, now: () => now });
      store.apply(snapshot(0n, [], { images: imageFrame(0, 4) }));
      frames.flush();
      expect(store.getView().latestFrame?.batchIdx).toBe(0);
      // 60 frames a second for half an interval: the grid keeps the first.
      for (let i = 1; i <= 6; i++) {
        now += 16;
        store.apply(imagesEvent(0n, imageFrame(i, 4)));
        frames.flush();
        expect(store.getView().latestFrame?.batchIdx).toBe(0);
      }
      // When the interval is up the store publishes by itself, with the newest frame.
      now += IMAGE_REFRESH_MS;
      jest.advanceTimersByTime(IMAGE_REFRESH_MS);
      frames.flush();
      expect(store.getView().latestFrame?.batchIdx).toBe(6);
      store.dispose();
    } finally {
      jest.useRealTimers();
    }
  });

  it('changes the shown confusion version at most once per CONFUSION_REFRESH_MS, ending on the latest', () => {
    jest.useFakeTimers();
    try {
      const frames = manualFrames();
      let now = 1000;
      const store = new SessionStore({ schedule: frames.schedule, now: () => now });
      const increment = (cursor: bigint) =>
        create(WatchSessionResponseSchema, {
          cursor,
          event: {
            case: 'confusion',
            value: create(ConfusionMatrixSchema, {
              epoch: 0,
              increment: true,
              truthClasses: [0],
              predictedClasses: [0],
              counts: [1n],
              predictions: 1n,
            }),
          },
        });
      store.apply(snapshot(0n, []));
      store.apply(increment(1n));
      frames.flush();
      const first = store.getView().confusionVersion;
      expect(first).toBe(store.getView().confusion.version);
      // A batch every 16 ms for 160 ms: the view keeps the first version.
      for (let i = 2; i <= 11; i++) {
        now += 16;
        store.apply(increment(BigInt(i)));
        frames.flush();
        expect(store.getView().confusionVersion).toBe(first);
      }
      // When the interval is up the store publishes by itself, with the newest version.
      now += CONFUSION_REFRESH_MS;
      jest.advanceTimersByTime(CONFUSION_REFRESH_MS);
      frames.flush();
      expect(store.getView().confusionVersion).toBe(store.getView().confusion.version);
      expect(store.getView().confusionVersion).toBeGreaterThan(first);
      store.dispose();
    } finally {
      jest.useRealTimers();
    }
  });

  it('draws the snapshot history, then appends live deltas in cursor order', () => {
    const { store, frames } = makeStore();
    store.apply(snapshot(10n, [0, 1, 2]));
    store.apply(batch(11n, 3));
    store.apply(epochEvent(12n, 0, 0.5, 0.8));
    store.apply(keepalive(12n));
    frames.flush();
    const view = store.getView();
    expect(Array.from(view.loss?.xs ?? [])).toEqual([0, 1, 2, 3]);
    expect(view.cursor).toBe(12n);
    expect(view.summary?.batchIdx).toBe(3);
    expect(view.summary?.latestLoss).toBeCloseTo(0.5);
    expect(view.epochs.map((e) => e.averageAccuracy)).toEqual([0.8]);
    expect(view.lastEventAt).toBe(42);
    expect(view.latencyMs).toBeUndefined();
  });

  it('measures server-to-page latency from the batch receipt time', () => {
    const { store, frames } = makeStore();
    store.apply(snapshot(0n, []));
    const event = batch(1n, 0);
    if (event.event.case === 'batch') event.event.value.receivedAtMs = 30n;
    store.apply(event);
    frames.flush();
    expect(store.getView().latencyMs).toBe(12);
  });

  it('publishes one view per animation frame however many events arrive', () => {
    const { store, frames } = makeStore();
    const listener = jest.fn();
    store.subscribe(listener);
    store.apply(snapshot(0n, []));
    for (let i = 1; i <= 500; i++) store.apply(batch(BigInt(i), i));
    expect(listener).not.toHaveBeenCalled();
    expect(frames.flush()).toBe(1);
    expect(listener).toHaveBeenCalledTimes(1);
    expect(store.getView().loss?.length).toBe(500);
    expect(frames.flush()).toBe(0);
  });

  it('keeps the same view object between publishes (stable for useSyncExternalStore)', () => {
    const { store, frames } = makeStore();
    store.apply(snapshot(0n, [0]));
    frames.flush();
    const first = store.getView();
    expect(store.getView()).toBe(first);
    store.apply(batch(1n, 1));
    expect(store.getView()).toBe(first);
    frames.flush();
    expect(store.getView()).not.toBe(first);
    // Panels that did not change keep their arrays, so they skip re-rendering.
    expect(store.getView().epochs).toBe(first.epochs);
  });

  it('rejects a skipped or repeated cursor and an event before the snapshot', () => {
    const { store } = makeStore();
    expect(() => store.apply(batch(1n, 1))).toThrow(CursorGapError);
    store.apply(snapshot(5n, []));
    expect(() => store.apply(batch(7n, 1))).toThrow(/expected cursor 6/);
    expect(() => store.apply(batch(5n, 1))).toThrow(CursorGapError);
    expect(() => store.apply(imagesEvent(4n, imageFrame(1, 1)))).toThrow(CursorGapError);
  });

  it('merges a reconnect snapshot by step: nothing duplicated, nothing missing', () => {
    const { store, frames } = makeStore();
    store.apply(snapshot(0n, [0, 1, 2]));
    store.apply(batch(1n, 3));
    store.apply(batch(2n, 4));
    // The server restarted: its history restarts from the trainer's replay
    // and its cursor from a new base.
    store.beginStream();
    store.apply(snapshot(3n, [2, 3, 4, 5, 6]));
    store.apply(batch(4n, 6));
    store.apply(batch(5n, 7));
    frames.flush();
    expect(Array.from(store.getView().loss?.xs ?? [])).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('tracks status changes and the command audit log, bounded at MAX_AUDIT_ENTRIES', () => {
    const { store, frames } = makeStore();
    store.apply(
      snapshot(0n, [], {
        commands: [auditEntry('c0', CommandType.PAUSE, CommandState.SUCCEEDED, 1)],
      }),
    );
    store.apply(statusEvent(1n, TrainingStatus.PAUSED));
    let cursor = 1n;
    for (let i = 1; i <= MAX_AUDIT_ENTRIES + 5; i++) {
      cursor++;
      store.apply({
        ...statusEvent(cursor, TrainingStatus.PAUSED),
        event: {
          case: 'command',
          value: auditEntry(`c${i}`, CommandType.RESUME, CommandState.PENDING, 1 + i),
        },
      });
    }
    frames.flush();
    const view = store.getView();
    expect(view.summary?.status).toBe(TrainingStatus.PAUSED);
    expect(view.commands).toHaveLength(MAX_AUDIT_ENTRIES);
    expect(view.commands[0].commandId).toBe('c6');
    expect(view.commands.at(-1)?.commandId).toBe(`c${MAX_AUDIT_ENTRIES + 5}`);
  });

  it('keeps at most MAX_EPOCHS epoch summaries, dropping the oldest', () => {
    const { store, frames } = makeStore();
    store.apply(snapshot(0n, []));
    for (let epoch = 0; epoch <= MAX_EPOCHS; epoch++) {
      store.apply(epochEvent(BigInt(epoch + 1), epoch, 1, 0.5));
    }
    frames.flush();
    const epochs = store.getView().epochs;
    expect(epochs).toHaveLength(MAX_EPOCHS);
    expect(epochs[0].epoch).toBe(1);
    expect(epochs.at(-1)?.epoch).toBe(MAX_EPOCHS);
  });

  it('an updated audit entry replaces the pending one', () => {
    const { store, frames } = makeStore();
    store.apply(
      snapshot(0n, [], {
        commands: [auditEntry('c1', CommandType.PAUSE, CommandState.PENDING, 1)],
      }),
    );
    store.apply({
      ...batch(1n, 0),
      event: {
        case: 'command',
        value: auditEntry('c1', CommandType.PAUSE, CommandState.SUCCEEDED, 1),
      },
    });
    frames.flush();
    expect(store.getView().commands.map((c) => c.state)).toEqual([CommandState.SUCCEEDED]);
  });

  it('stops publishing once disposed', () => {
    const { store, frames } = makeStore();
    const listener = jest.fn();
    store.subscribe(listener);
    store.apply(snapshot(0n, [0]));
    store.dispose();
    expect(frames.flush()).toBe(0);
    expect(listener).not.toHaveBeenCalled();
  });

  it('joins the parts of a frame too large for one message; a new frame replaces them', () => {
    const frames = manualFrames();
    let now = 1000;
    const store = new SessionStore({ schedule: frames.schedule, now: () => now });
    store.apply(snapshot(1n, []));
    const whole = imageFrame(7, 5);
    const part = (firstIndex: number, from: number, to: number) =>
      create(ImageFrameSchema, {
        ...whole,
        firstIndex,
        images: whole.images.slice(from, to),
        predictions: whole.predictions.slice(from, to),
        groundTruth: whole.groundTruth.slice(from, to),
      });
    store.apply(imagesEvent(1n, part(0, 0, 2)));
    store.apply(imagesEvent(1n, part(2, 2, 4)));
    store.apply(imagesEvent(1n, part(4, 4, 5)));
    frames.flush();
    const shown = store.getView().latestFrame;
    expect(shown?.images).toHaveLength(5);
    expect(shown?.groundTruth).toEqual(whole.groundTruth);
    // A part that does not continue the shown frame is dropped, not glued on.
    store.apply(imagesEvent(1n, create(ImageFrameSchema, { ...part(2, 2, 4), step: 8n })));
    now += IMAGE_REFRESH_MS;
    frames.flush();
    expect(store.getView().latestFrame).toBe(shown);
    store.apply(imagesEvent(1n, imageFrame(9, 1)));
    now += IMAGE_REFRESH_MS;
    frames.flush();
    expect(store.getView().latestFrame?.step).toBe(9n);
  });

  it('takes the writer conflict and missing history of each status event as current', () => {
    const { store, frames } = makeStore();
    store.apply(snapshot(1n, [0]));
    store.apply(
      statusUpdate(2n, {
        status: TrainingStatus.RUNNING,
        connection: ConnectionState.CONNECTED,
        partialHistory: true,
        historyStartStep: 120n,
        writerConflict: { clientName: 'other', peer: 'ipv4:10.0.0.2:5000', refusals: 3 },
      }),
    );
    frames.flush();
    expect(store.getView().summary?.writerConflict?.refusals).toBe(3);
    store.apply(
      statusUpdate(3n, {
        status: TrainingStatus.PAUSED,
        connection: ConnectionState.CONNECTED,
        partialHistory: true,
        historyStartStep: 120n,
      }),
    );
    frames.flush();
    const summary = store.getView().summary;
    expect(summary?.status).toBe(TrainingStatus.PAUSED);
    expect(summary?.partialHistory).toBe(true);
    expect(summary?.historyStartStep).toBe(120n);
    expect(summary?.writerConflict).toBeUndefined();
  });
});

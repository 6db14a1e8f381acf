import { create, toBinary } from '@bufbuild/protobuf';
import {
  CommandAuditEntrySchema,
  EpochDataSchema,
  LOSS_SERIES,
  SeriesKind,
  SessionSnapshotSchema,
  TrainingConfigSchema,
} from '@trainwatch/proto';
import {
  DASHBOARD_MESSAGE_BUDGET_BYTES,
  MAX_CLASS_NAME_LENGTH,
  MAX_CLASS_NAMES,
  MAX_EPOCHS_KEPT,
} from '../common/limits';
import { Session } from './session';

describe('Session.toSnapshot', () => {
  it('keeps everything when it fits', () => {
    const session = new Session('s', 0, { lossHistoryPoints: 16, commandAuditSize: 4 });
    session.addEpoch(create(EpochDataSchema, { epoch: 0, averageLoss: 1 }));
    session.series.add(LOSS_SERIES, SeriesKind.STEP, 1n, 0.5, 0);
    const snapshot = session.toSnapshot();
    expect(snapshot.epochs).toHaveLength(1);
    expect(snapshot.lossHistory?.steps).toEqual([1n]);
  });

  it('stays under the budget at every bound at once, keeping class names and the newest entries', () => {
    const session = new Session('s', 0, { lossHistoryPoints: 1_000_000, commandAuditSize: 200 });
    session.config = create(TrainingConfigSchema, {
      totalEpochs: 1,
      batchesPerEpoch: 1,
      batchSize: 1,
      classNames: Array(MAX_CLASS_NAMES).fill('n'.repeat(MAX_CLASS_NAME_LENGTH)),
    });
    session.statusMessage = '€'.repeat(4096);
    for (let step = 0; step < 1_000_000; step++)
      session.series.add(LOSS_SERIES, SeriesKind.STEP, BigInt(step), step / 7, step);
    for (let epoch = 0; epoch < MAX_EPOCHS_KEPT; epoch++) {
      session.addEpoch(create(EpochDataSchema, { epoch, averageLoss: 1.5, averageAccuracy: 0.5 }));
    }
    for (let index = 0; index < 200; index++) {
      session.recordCommand(
        create(CommandAuditEntrySchema, {
          commandId: `c${index}`,
          issuedBy: '€'.repeat(128),
          resultMessage: '€'.repeat(4096),
        }),
      );
    }
    const snapshot = session.toSnapshot();
    const bytes = toBinary(SessionSnapshotSchema, snapshot).byteLength;
    expect(bytes).toBeLessThanOrEqual(DASHBOARD_MESSAGE_BUDGET_BYTES);
    expect(snapshot.session?.config?.classNames).toHaveLength(MAX_CLASS_NAMES);
    expect(snapshot.lossHistory?.totalPoints).toBe(1_000_000n);
    expect(snapshot.lossHistory?.steps.length).toBeGreaterThan(1000);
    expect(snapshot.commands.at(-1)?.commandId).toBe('c199');
    expect(snapshot.epochs.at(-1)?.epoch).toBe(MAX_EPOCHS_KEPT - 1);
    expect(snapshot.epochs.length).toBeGreaterThan(0);
  });

  it('1,000 series of 4,000 points each: every series goes in, ordered by name, thinned alike, under the budget', () => {
    const session = new Session('s', 0, {
      lossHistoryPoints: 4000,
      commandAuditSize: 4,
      seriesHistoryPoints: 4000,
      seriesHistoryPointsTotal: 4_000_000,
    });
    const names = Array.from({ length: 999 }, (_, index) => `${'n'.repeat(120)}/${1000 + index}`);
    for (let step = 0; step < 4000; step++) {
      session.series.add(LOSS_SERIES, SeriesKind.STEP, BigInt(step), step, Date.now());
      for (const name of names)
        session.series.add(
          name,
          SeriesKind.STEP,
          BigInt(step),
          step === 1234 ? 1e9 : 1,
          1e12 + step,
        );
    }
    const snapshot = session.toSnapshot();
    expect(toBinary(SessionSnapshotSchema, snapshot).byteLength).toBeLessThanOrEqual(
      DASHBOARD_MESSAGE_BUDGET_BYTES,
    );
    expect(snapshot.series.map((series) => series.name)).toEqual([LOSS_SERIES, ...names].sort());
    const last = snapshot.series.at(-1);
    expect(last?.totalPoints).toBe(4000n);
    expect(last?.steps.length).toBeGreaterThan(10);
    // The spike survives the thinning.
    expect(last?.steps[last.values.indexOf(1e9)]).toBe(1234n);
    expect(snapshot.lossHistory?.steps).toEqual(
      snapshot.series.find((series) => series.name === LOSS_SERIES)?.steps,
    );
  });
});

import { create } from '@bufbuild/protobuf';
import { CommandAuditEntrySchema, CommandState } from '@trainwatch/proto';
import { Session } from './session';

describe('Session', () => {
  it('keeps the newest commandAuditSize audit entries and updates an entry in place by id', () => {
    const session = new Session('s', 0, { lossHistoryPoints: 16, commandAuditSize: 3 });
    for (const id of ['a', 'b', 'c', 'd'])
      session.recordCommand(
        create(CommandAuditEntrySchema, { commandId: id, state: CommandState.PENDING }),
      );
    expect(session.commands.map((entry) => entry.commandId)).toEqual(['b', 'c', 'd']);
    session.recordCommand(
      create(CommandAuditEntrySchema, { commandId: 'c', state: CommandState.SUCCEEDED }),
    );
    expect(session.commands.map((entry) => [entry.commandId, entry.state])).toEqual([
      ['b', CommandState.PENDING],
      ['c', CommandState.SUCCEEDED],
      ['d', CommandState.PENDING],
    ]);
  });

  it('computes the global step from the config', () => {
    const session = new Session('s', 0, { lossHistoryPoints: 16, commandAuditSize: 3 });
    expect(session.stepOf(2, 3)).toBe(3n + 2n);
    session.config = {
      $typeName: 'telemetry.v1.TrainingConfig',
      totalEpochs: 3,
      batchesPerEpoch: 100,
      batchSize: 1,
      modelName: '',
      datasetName: '',
      classNames: [],
    };
    expect(session.stepOf(2, 3)).toBe(203n);
  });
});

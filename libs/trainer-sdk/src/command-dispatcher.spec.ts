import { create } from '@bufbuild/protobuf';
import {
  CommandType,
  ControlCommandSchema,
  TrainingStatus,
  type ControlCommand,
} from '@trainwatch/proto';
import {
  ANSWERED_COMMANDS_BOUND,
  CommandDispatcher,
  type CommandOutcome,
} from './command-dispatcher';
import { CommandGate } from './command-gate';
import type { SessionError } from './types';

function command(type: CommandType, commandId: string): ControlCommand {
  return create(ControlCommandSchema, { type, commandId, issuedBy: 'ops' });
}

function setup() {
  const gate = new CommandGate();
  const answers: CommandOutcome[] = [];
  const statuses: [TrainingStatus, string][] = [];
  const errors: SessionError[] = [];
  const received: string[] = [];
  const expired: string[] = [];
  let status = TrainingStatus.RUNNING;
  const dispatcher = new CommandDispatcher(gate, {
    status: () => status,
    received: (c) => received.push(c.commandId),
    expired: (c) => expired.push(c.commandId),
    setStatus: (next, message) => {
      status = next;
      statuses.push([next, message]);
    },
    answer: (outcome) => answers.push(outcome),
    report: (error) => errors.push(error),
  });
  return { gate, dispatcher, answers, statuses, errors, received, expired };
}

describe('CommandDispatcher', () => {
  it('applies PAUSE, RESUME and STOP to the gate with one result and the matching status each', async () => {
    const { gate, dispatcher, answers, statuses } = setup();
    await dispatcher.dispatch(command(CommandType.PAUSE, 'c1'));
    expect(gate.paused).toBe(true);
    await dispatcher.dispatch(command(CommandType.RESUME, 'c2'));
    expect(gate.paused).toBe(false);
    await dispatcher.dispatch(command(CommandType.STOP, 'c3'));
    expect(gate.stopRequested).toBe(true);
    expect(answers).toEqual([
      {
        commandId: 'c1',
        success: true,
        message: 'paused before the next batch',
        status: TrainingStatus.PAUSED,
        expired: false,
      },
      {
        commandId: 'c2',
        success: true,
        message: 'resumed',
        status: TrainingStatus.RUNNING,
        expired: false,
      },
      {
        commandId: 'c3',
        success: true,
        message: 'stopping: the loop ends at its next gate',
        status: TrainingStatus.RUNNING,
        expired: false,
      },
    ]);
    expect(statuses).toEqual([
      [TrainingStatus.PAUSED, 'paused by ops'],
      [TrainingStatus.RUNNING, 'resumed by ops'],
    ]);
  });

  it('answers a command id once, even when delivered again', async () => {
    const { dispatcher, answers, received } = setup();
    expect(await dispatcher.dispatch(command(CommandType.PAUSE, 'same'))).toBe(true);
    expect(await dispatcher.dispatch(command(CommandType.PAUSE, 'same'))).toBe(false);
    expect(answers).toHaveLength(1);
    expect(received).toEqual(['same']);
  });

  it('remembers at most ANSWERED_COMMANDS_BOUND ids, forgetting the oldest', async () => {
    const { dispatcher, answers } = setup();
    for (let i = 0; i <= ANSWERED_COMMANDS_BOUND; i++) {
      await dispatcher.dispatch(command(CommandType.RESUME, `id-${i}`));
    }
    expect(
      await dispatcher.dispatch(command(CommandType.RESUME, `id-${ANSWERED_COMMANDS_BOUND}`)),
    ).toBe(false);
    expect(await dispatcher.dispatch(command(CommandType.RESUME, 'id-0'))).toBe(true);
    expect(answers).toHaveLength(ANSWERED_COMMANDS_BOUND + 2);
  });

  it('a throwing handler fails the command, leaves the gate alone, and is reported', async () => {
    const { gate, dispatcher, answers, errors } = setup();
    dispatcher.add(CommandType.PAUSE, () => {
      throw new Error('checkpoint disk full');
    });
    await dispatcher.dispatch(command(CommandType.PAUSE, 'p'));
    expect(gate.paused).toBe(false);
    expect(answers[0]).toMatchObject({
      success: false,
      message: 'handler failed: checkpoint disk full',
    });
    expect(errors[0]).toMatchObject({ kind: 'command-handler' });
  });

  it('a handler may refuse, and removed handlers no longer run', async () => {
    const { gate, dispatcher, answers } = setup();
    const remove = dispatcher.add(CommandType.STOP, () => ({ success: false, message: 'not now' }));
    await dispatcher.dispatch(command(CommandType.STOP, 's1'));
    expect(gate.stopRequested).toBe(false);
    expect(answers[0]).toMatchObject({ success: false, message: 'not now' });
    remove();
    await dispatcher.dispatch(command(CommandType.STOP, 's2'));
    expect(gate.stopRequested).toBe(true);
  });

  it('runs commands in arrival order even when a handler is slow', async () => {
    const { gate, dispatcher, answers } = setup();
    let release!: () => void;
    dispatcher.add(CommandType.PAUSE, () => new Promise<void>((resolve) => (release = resolve)));
    const pause = dispatcher.dispatch(command(CommandType.PAUSE, 'slow-pause'));
    const resume = dispatcher.dispatch(command(CommandType.RESUME, 'quick-resume'));
    await Promise.resolve();
    expect(answers).toEqual([]);
    release();
    await Promise.all([pause, resume]);
    expect(answers.map((a) => [a.commandId, a.success])).toEqual([
      ['slow-pause', true],
      ['quick-resume', true],
    ]);
    expect(gate.paused).toBe(false);
  });

  it('a command past its deadline is not applied: answered expired and reported', async () => {
    const { gate, dispatcher, answers, statuses, expired } = setup();
    const late = create(ControlCommandSchema, {
      type: CommandType.PAUSE,
      commandId: 'late',
      expiresAtMs: BigInt(Date.now() - 1000),
    });
    await dispatcher.dispatch(late);
    expect(gate.paused).toBe(false);
    expect(statuses).toEqual([]);
    expect(expired).toEqual(['late']);
    expect(answers).toEqual([
      expect.objectContaining({ commandId: 'late', success: false, expired: true }),
    ]);
    expect(answers[0]?.message).toMatch(/after its deadline/);
    // A deadline still ahead, or none at all (0), is applied as before.
    const onTime = create(ControlCommandSchema, {
      type: CommandType.PAUSE,
      commandId: 'on-time',
      expiresAtMs: BigInt(Date.now() + 60_000),
    });
    await dispatcher.dispatch(onTime);
    expect(gate.paused).toBe(true);
    expect(answers[1]).toMatchObject({ success: true, expired: false });
  });

  it('a command whose deadline passes while it waits behind a slow handler expires', async () => {
    const { gate, dispatcher, answers } = setup();
    let release!: () => void;
    dispatcher.add(CommandType.RESUME, () => new Promise<void>((resolve) => (release = resolve)));
    gate.pause();
    const slow = dispatcher.dispatch(command(CommandType.RESUME, 'slow'));
    const queued = dispatcher.dispatch(
      create(ControlCommandSchema, {
        type: CommandType.PAUSE,
        commandId: 'queued',
        expiresAtMs: BigInt(Date.now() + 20),
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 40));
    release();
    await Promise.all([slow, queued]);
    expect(answers.map((a) => [a.commandId, a.expired])).toEqual([
      ['slow', false],
      ['queued', true],
    ]);
    expect(gate.paused).toBe(false);
  });

  it('refuses UNSPECIFIED and kinds it does not know', async () => {
    const { dispatcher, answers } = setup();
    await dispatcher.dispatch(command(CommandType.UNSPECIFIED, 'u'));
    await dispatcher.dispatch(command(42 as CommandType, 'future'));
    expect(answers.map((a) => [a.success, a.message])).toEqual([
      [false, 'unknown command type 0'],
      [false, 'unknown command type 42'],
    ]);
  });
});

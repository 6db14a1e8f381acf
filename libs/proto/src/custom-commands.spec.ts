import { create } from '@bufbuild/protobuf';
import {
  CommandArgumentType,
  CustomCommandSpecSchema,
} from './gen/telemetry/v1/custom_commands_pb';
import { HyperparameterValueSchema } from './gen/telemetry/v1/telemetry_pb';
import { customCommandsProblem, resolveCustomArguments } from './custom-commands';
import { MAX_COMMAND_TEXT_ARGUMENT_LENGTH, MAX_CUSTOM_COMMANDS } from './rules';

const setLr = create(CustomCommandSpecSchema, {
  name: 'set_lr',
  arguments: [
    { name: 'lr', type: CommandArgumentType.NUMBER, required: true },
    {
      name: 'note',
      type: CommandArgumentType.TEXT,
      defaultValue: { case: 'defaultText', value: 'manual' },
    },
    { name: 'warmup', type: CommandArgumentType.FLAG },
  ],
});
const number = (value: number) =>
  create(HyperparameterValueSchema, { kind: { case: 'number', value } });
const text = (value: string) =>
  create(HyperparameterValueSchema, { kind: { case: 'text', value } });

describe('custom command declarations', () => {
  it('accepts a well-formed set', () => {
    expect(customCommandsProblem([setLr])).toBeUndefined();
  });

  it('names the bad name, the duplicate, the missing type and the count bound', () => {
    expect(customCommandsProblem([create(CustomCommandSpecSchema, { name: 'Set-LR' })])).toMatch(
      /custom_commands\[0\]\.name "Set-LR" is invalid/,
    );
    expect(customCommandsProblem([setLr, setLr])).toMatch(/set_lr is declared twice/);
    expect(
      customCommandsProblem([
        create(CustomCommandSpecSchema, { name: 'go', arguments: [{ name: 'x' }] }),
      ]),
    ).toMatch(/argument x needs a type/);
    const many = Array.from({ length: MAX_CUSTOM_COMMANDS + 1 }, (_, index) =>
      create(CustomCommandSpecSchema, { name: `c${index}` }),
    );
    expect(customCommandsProblem(many)).toMatch(`at most ${MAX_CUSTOM_COMMANDS}`);
  });

  it('refuses a default of the wrong kind', () => {
    const bad = create(CustomCommandSpecSchema, {
      name: 'go',
      arguments: [
        {
          name: 'x',
          type: CommandArgumentType.NUMBER,
          defaultValue: { case: 'defaultFlag', value: true },
        },
      ],
    });
    expect(customCommandsProblem([bad])).toMatch(/default of argument x must be a number/);
  });
});

describe('resolving the arguments of a sent command', () => {
  it('fills defaults and keeps what was sent', () => {
    const resolved = resolveCustomArguments(setLr, { lr: number(0.01) });
    expect(resolved.problem).toBeUndefined();
    expect(resolved).toEqual({ arguments: { lr: number(0.01), note: text('manual') } });
  });

  it('names a missing required argument, an unknown one, a wrong kind and the text bound', () => {
    expect(resolveCustomArguments(setLr, {}).problem).toBe(
      'command set_lr: argument lr is required',
    );
    expect(resolveCustomArguments(setLr, { lr: number(1), rate: number(1) }).problem).toMatch(
      /has no argument "rate" \(it declares: lr, note, warmup\)/,
    );
    expect(resolveCustomArguments(setLr, { lr: text('fast') }).problem).toBe(
      'command set_lr: argument lr must be a number, got text',
    );
    expect(resolveCustomArguments(setLr, { lr: number(Number.NaN) }).problem).toMatch(/finite/);
    expect(
      resolveCustomArguments(setLr, {
        lr: number(1),
        note: text('x'.repeat(MAX_COMMAND_TEXT_ARGUMENT_LENGTH + 1)),
      }).problem,
    ).toMatch(`longer than ${MAX_COMMAND_TEXT_ARGUMENT_LENGTH}`);
  });
});

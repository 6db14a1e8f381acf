/**
 * Checks of custom commands (custom_commands.proto), written once for the
 * server (registration, SendCommand), the trainer SDK (before it advertises)
 * and the web app (before it sends a form). Each returns the first problem in
 * words naming the field and the bound, or undefined when all is well.
 */
import { create } from '@bufbuild/protobuf';
import {
  CommandArgumentType,
  type CommandArgumentSpec,
  type CustomCommandSpec,
} from './gen/telemetry/v1/custom_commands_pb';
import {
  HyperparameterValueSchema,
  type HyperparameterValue,
} from './gen/telemetry/v1/telemetry_pb';
import {
  CUSTOM_COMMAND_NAME_PATTERN,
  CUSTOM_COMMAND_NAME_RULE,
  MAX_COMMAND_ARGUMENTS,
  MAX_COMMAND_DESCRIPTION_LENGTH,
  MAX_COMMAND_TEXT_ARGUMENT_LENGTH,
  MAX_CUSTOM_COMMANDS,
} from './rules';

/** The HyperparameterValue case each argument type takes. */
const VALUE_CASE = {
  [CommandArgumentType.NUMBER]: 'number',
  [CommandArgumentType.TEXT]: 'text',
  [CommandArgumentType.FLAG]: 'flag',
} as const;

/** `number`, `text` or `flag`: what an argument of `type` holds; undefined for UNSPECIFIED. */
export function argumentKind(type: CommandArgumentType): 'number' | 'text' | 'flag' | undefined {
  return type === CommandArgumentType.UNSPECIFIED ? undefined : VALUE_CASE[type];
}

/** The declared default of an argument as a value, undefined when it has none. */
export function argumentDefault(spec: CommandArgumentSpec): HyperparameterValue | undefined {
  const { defaultValue } = spec;
  switch (defaultValue.case) {
    case 'defaultNumber':
      return create(HyperparameterValueSchema, {
        kind: { case: 'number', value: defaultValue.value },
      });
    case 'defaultText':
      return create(HyperparameterValueSchema, {
        kind: { case: 'text', value: defaultValue.value },
      });
    case 'defaultFlag':
      return create(HyperparameterValueSchema, {
        kind: { case: 'flag', value: defaultValue.value },
      });
    default:
      return undefined;
  }
}

/** Why `value` cannot be an argument of `spec` (wrong kind, not finite, too long). */
function valueProblem(
  spec: CommandArgumentSpec,
  value: HyperparameterValue,
  field: string,
): string | undefined {
  const kind = argumentKind(spec.type);
  if (value.kind.case !== kind) {
    return `${field} must be a ${kind ?? '?'}, got ${value.kind.case ?? 'no value'}`;
  }
  if (value.kind.case === 'number' && !Number.isFinite(value.kind.value)) {
    return `${field} must be a finite number, got ${value.kind.value}`;
  }
  if (value.kind.case === 'text' && value.kind.value.length > MAX_COMMAND_TEXT_ARGUMENT_LENGTH) {
    return `${field} is longer than ${MAX_COMMAND_TEXT_ARGUMENT_LENGTH} characters`;
  }
  return undefined;
}

function nameProblem(name: string, field: string): string | undefined {
  return CUSTOM_COMMAND_NAME_PATTERN.test(name)
    ? undefined
    : `${field} ${JSON.stringify(name.slice(0, 80))} is invalid: use ${CUSTOM_COMMAND_NAME_RULE}`;
}

/** The first problem of one advertised command, `field` naming where it is. */
export function customCommandSpecProblem(
  spec: CustomCommandSpec,
  field = 'custom command',
): string | undefined {
  const problem = nameProblem(spec.name, `${field}.name`);
  if (problem !== undefined) return problem;
  const at = `${field} ${spec.name}`;
  if (spec.description.length > MAX_COMMAND_DESCRIPTION_LENGTH) {
    return `${at}: description is longer than ${MAX_COMMAND_DESCRIPTION_LENGTH} characters`;
  }
  if (spec.arguments.length > MAX_COMMAND_ARGUMENTS) {
    return `${at} declares ${spec.arguments.length} arguments; at most ${MAX_COMMAND_ARGUMENTS} are allowed`;
  }
  const seen = new Set<string>();
  for (const argument of spec.arguments) {
    const named = nameProblem(argument.name, `${at}: argument name`);
    if (named !== undefined) return named;
    if (seen.has(argument.name)) return `${at}: argument ${argument.name} is declared twice`;
    seen.add(argument.name);
    if (argumentKind(argument.type) === undefined) {
      return `${at}: argument ${argument.name} needs a type (number, text or flag)`;
    }
    if (argument.description.length > MAX_COMMAND_DESCRIPTION_LENGTH) {
      return `${at}: argument ${argument.name}: description is longer than ${MAX_COMMAND_DESCRIPTION_LENGTH} characters`;
    }
    const fallback = argumentDefault(argument);
    if (fallback !== undefined) {
      const bad = valueProblem(argument, fallback, `${at}: default of argument ${argument.name}`);
      if (bad !== undefined) return bad;
    }
  }
  return undefined;
}

/** The first problem of a whole advertised set (SessionInfo.custom_commands). */
export function customCommandsProblem(
  specs: readonly CustomCommandSpec[],
  field = 'custom_commands',
): string | undefined {
  if (specs.length > MAX_CUSTOM_COMMANDS) {
    return `${field} has ${specs.length} commands; at most ${MAX_CUSTOM_COMMANDS} are allowed`;
  }
  const seen = new Set<string>();
  for (const [index, spec] of specs.entries()) {
    const problem = customCommandSpecProblem(spec, `${field}[${index}]`);
    if (problem !== undefined) return problem;
    if (seen.has(spec.name)) return `${field}: command ${spec.name} is declared twice`;
    seen.add(spec.name);
  }
  return undefined;
}

/**
 * The arguments a command runs with: what was sent, checked against the
 * declaration, plus the defaults of what was left out. `problem` names the
 * first argument that is unknown, missing or of the wrong kind.
 */
export function resolveCustomArguments(
  spec: CustomCommandSpec,
  sent: Readonly<Record<string, HyperparameterValue>>,
): { arguments: Record<string, HyperparameterValue>; problem?: undefined } | { problem: string } {
  const declared = new Map(spec.arguments.map((argument) => [argument.name, argument]));
  for (const name of Object.keys(sent)) {
    if (!declared.has(name)) {
      const known = spec.arguments.map((argument) => argument.name).join(', ') || 'none';
      return {
        problem: `command ${spec.name} has no argument ${JSON.stringify(name.slice(0, 80))} (it declares: ${known})`,
      };
    }
  }
  const resolved: Record<string, HyperparameterValue> = {};
  for (const argument of spec.arguments) {
    const value = sent[argument.name] ?? argumentDefault(argument);
    if (value === undefined) {
      if (argument.required) {
        return { problem: `command ${spec.name}: argument ${argument.name} is required` };
      }
      continue;
    }
    const problem = valueProblem(
      argument,
      value,
      `command ${spec.name}: argument ${argument.name}`,
    );
    if (problem !== undefined) return { problem };
    resolved[argument.name] = value;
  }
  return { arguments: resolved };
}

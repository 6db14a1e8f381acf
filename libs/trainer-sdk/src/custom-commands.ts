import { create } from '@bufbuild/protobuf';
import {
  CommandArgumentType,
  CustomCommandSpecSchema,
  MAX_CUSTOM_COMMANDS,
  customCommandSpecProblem,
  type CommandArgumentSpec,
  type ControlCommand,
  type CustomCommandSpec,
  type HyperparameterValue,
} from '@trainwatch/proto';

/** What an argument holds: a finite number, a text or a flag. */
export type ArgumentTypeName = 'number' | 'text' | 'flag';

/**
 * One argument of a custom command: its type alone (then it is required), or
 * the type with a description, a default (then it may be left out) or
 * `required: false` (then the handler may get undefined).
 */
export type ArgumentDeclaration =
  | ArgumentTypeName
  | {
      type: ArgumentTypeName;
      description?: string;
      required?: boolean;
      default?: number | string | boolean;
    };

/** Argument name -> declaration, e.g. `{ lr: 'number' }`. */
export type ArgumentDeclarations = Record<string, ArgumentDeclaration>;

type KindOf<D> = D extends ArgumentTypeName ? D : D extends { type: infer T } ? T : never;
type ValueOfKind<K> = K extends 'number'
  ? number
  : K extends 'text'
    ? string
    : K extends 'flag'
      ? boolean
      : never;
type MaybeMissing<D> = D extends { required: false }
  ? D extends { default: number | string | boolean }
    ? never
    : undefined
  : never;

/** The arguments a handler gets, typed from its declarations. */
export type CustomArguments<A extends ArgumentDeclarations> = {
  [K in keyof A]: ValueOfKind<KindOf<A[K]>> | MaybeMissing<A[K]>;
};

/**
 * A custom command's handler; may be async. Its return value (a string, or
 * `{ success, message }`) becomes the result the dashboard shows; a throw
 * reports the command FAILED with the error's message.
 */
export type CustomCommandHandler<A extends ArgumentDeclarations> = (
  args: CustomArguments<A>,
  command: ControlCommand,
) => CustomCommandResult | Promise<CustomCommandResult>;

export type CustomCommandResult = void | string | { success?: boolean; message?: string };

export interface CustomCommandOptions {
  /** Shown with the command's form on the dashboard. */
  description?: string;
}

const ARGUMENT_TYPES: Record<ArgumentTypeName, CommandArgumentType> = {
  number: CommandArgumentType.NUMBER,
  text: CommandArgumentType.TEXT,
  flag: CommandArgumentType.FLAG,
};

function defaultOf(
  value: number | string | boolean | undefined,
): CommandArgumentSpec['defaultValue'] {
  if (typeof value === 'number') return { case: 'defaultNumber', value };
  if (typeof value === 'string') return { case: 'defaultText', value };
  if (typeof value === 'boolean') return { case: 'defaultFlag', value };
  return { case: undefined };
}

/**
 * The spec advertised for a handler; RangeError naming the problem (name
 * pattern, argument bound, a default of the wrong type) when it breaks a rule.
 */
export function toCustomCommandSpec(
  name: string,
  declarations: ArgumentDeclarations,
  options: CustomCommandOptions = {},
): CustomCommandSpec {
  const spec = create(CustomCommandSpecSchema, {
    name,
    description: options.description ?? '',
    arguments: Object.entries(declarations).map(([argumentName, declaration]) => {
      const full = typeof declaration === 'string' ? { type: declaration } : declaration;
      if (!(full.type in ARGUMENT_TYPES)) {
        throw new TypeError(
          `custom command ${name}: argument ${argumentName} has type ${String(full.type)}; use number, text or flag`,
        );
      }
      return {
        name: argumentName,
        type: ARGUMENT_TYPES[full.type],
        description: full.description ?? '',
        required: full.required ?? full.default === undefined,
        defaultValue: defaultOf(full.default),
      };
    }),
  });
  const problem = customCommandSpecProblem(spec, 'custom command');
  if (problem !== undefined) throw new RangeError(problem);
  return spec;
}

/** The plain value a handler gets for one argument. */
function plain(value: HyperparameterValue): number | string | boolean | undefined {
  return value.kind.value;
}

interface Registered {
  spec: CustomCommandSpec;
  handler: CustomCommandHandler<ArgumentDeclarations>;
}

/**
 * The handlers a run offers by name, at most MAX_CUSTOM_COMMANDS, in the
 * order they were added (the order the dashboard shows their forms).
 */
export class CustomCommands {
  private readonly byName = new Map<string, Registered>();

  add<A extends ArgumentDeclarations>(
    name: string,
    declarations: A,
    handler: CustomCommandHandler<A>,
    options?: CustomCommandOptions,
  ): () => void {
    const spec = toCustomCommandSpec(name, declarations, options);
    if (this.byName.has(name)) {
      throw new RangeError(`custom command ${name} already has a handler; remove it first`);
    }
    if (this.byName.size >= MAX_CUSTOM_COMMANDS) {
      throw new RangeError(
        `a run may offer at most ${MAX_CUSTOM_COMMANDS} custom commands; ${name} would be one more`,
      );
    }
    const registered: Registered = {
      spec,
      handler: handler as CustomCommandHandler<ArgumentDeclarations>,
    };
    this.byName.set(name, registered);
    return () => {
      if (this.byName.get(name) === registered) this.byName.delete(name);
    };
  }

  /** What SessionInfo.custom_commands advertises. */
  specs(): CustomCommandSpec[] {
    return [...this.byName.values()].map(({ spec }) => spec);
  }

  /** Runs the handler `command` names; its outcome as CommandResult carries it. */
  async run(command: ControlCommand): Promise<{ success: boolean; message: string }> {
    const registered = this.byName.get(command.customName);
    if (registered === undefined) {
      return { success: false, message: `this trainer has no handler for ${command.customName}` };
    }
    const args: Record<string, number | string | boolean | undefined> = {};
    for (const argument of registered.spec.arguments) args[argument.name] = undefined;
    for (const [key, value] of Object.entries(command.arguments)) args[key] = plain(value);
    const result = await registered.handler(args as CustomArguments<ArgumentDeclarations>, command);
    if (typeof result === 'string') return { success: true, message: result };
    return {
      success: result?.success ?? true,
      message: result?.message ?? `${command.customName} done`,
    };
  }
}

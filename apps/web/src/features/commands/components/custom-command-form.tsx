import { create } from '@bufbuild/protobuf';
import {
  CommandArgumentType,
  HyperparameterValueSchema,
  argumentDefault,
  resolveCustomArguments,
  type CommandArgumentSpec,
  type CustomCommandSpec,
  type HyperparameterValue,
} from '@trainwatch/proto';
import { useState, type FormEvent } from 'react';
import './custom-command-form.css';

export interface CustomCommandFormProps {
  spec: CustomCommandSpec;
  /** False while a command is pending or the run takes none: the rule Pause, Resume and Stop follow. */
  enabled: boolean;
  /** True while this command waits for the trainer's answer. */
  pending: boolean;
  onSend: (args: Record<string, HyperparameterValue>) => void;
}

/** What an input holds: text for numbers and texts (so a half-typed number is kept), a flag for flags. */
type FieldValue = string | boolean;

function initialValue(argument: CommandArgumentSpec): FieldValue {
  const fallback = argumentDefault(argument)?.kind;
  if (argument.type === CommandArgumentType.FLAG) return fallback?.value === true;
  return fallback === undefined ? '' : String(fallback.value);
}

/**
 * The arguments a form sends: empty inputs are left out, so the server fills
 * in the declared default (or names the missing required argument).
 */
function toArguments(
  spec: CustomCommandSpec,
  values: Record<string, FieldValue>,
): { args: Record<string, HyperparameterValue> } | { problem: string } {
  const args: Record<string, HyperparameterValue> = {};
  for (const argument of spec.arguments) {
    const value = values[argument.name];
    if (typeof value === 'boolean') {
      args[argument.name] = create(HyperparameterValueSchema, {
        kind: { case: 'flag', value },
      });
    } else if (value !== undefined && value.trim() !== '') {
      if (argument.type === CommandArgumentType.NUMBER) {
        const number = Number(value);
        if (!Number.isFinite(number)) return { problem: `${argument.name} must be a number` };
        args[argument.name] = create(HyperparameterValueSchema, {
          kind: { case: 'number', value: number },
        });
      } else {
        args[argument.name] = create(HyperparameterValueSchema, { kind: { case: 'text', value } });
      }
    }
  }
  // The same check the server makes, so a form that cannot succeed says why at once.
  const resolved = resolveCustomArguments(spec, args);
  return resolved.problem === undefined ? { args } : { problem: resolved.problem };
}

/** One advertised command as a small form: a typed input per argument, defaults filled in, required marked. */
export function CustomCommandForm({ spec, enabled, pending, onSend }: CustomCommandFormProps) {
  const [values, setValues] = useState<Record<string, FieldValue>>(() =>
    Object.fromEntries(spec.arguments.map((argument) => [argument.name, initialValue(argument)])),
  );
  const [problem, setProblem] = useState<string>();

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const built = toArguments(spec, values);
    if ('problem' in built) {
      setProblem(built.problem);
      return;
    }
    setProblem(undefined);
    onSend(built.args);
  };

  return (
    <form
      className="custom-command"
      data-testid={`custom-command-${spec.name}`}
      aria-label={spec.name}
      // The check below names the argument as the server would; the browser's own bubble would not.
      noValidate
      onSubmit={submit}
    >
      <strong title={spec.description || undefined}>{spec.name}</strong>
      {spec.arguments.map((argument) => {
        const id = `custom-${spec.name}-${argument.name}`;
        const value = values[argument.name];
        const set = (next: FieldValue) => setValues({ ...values, [argument.name]: next });
        return (
          <label key={argument.name} htmlFor={id} title={argument.description || undefined}>
            {argument.name}
            {argument.required && (
              <span className="required" aria-hidden="true">
                *
              </span>
            )}
            {argument.type === CommandArgumentType.FLAG ? (
              <input
                id={id}
                data-testid={id}
                type="checkbox"
                checked={value === true}
                onChange={(event) => set(event.target.checked)}
              />
            ) : (
              <input
                id={id}
                data-testid={id}
                type={argument.type === CommandArgumentType.NUMBER ? 'number' : 'text'}
                step="any"
                required={argument.required}
                aria-required={argument.required}
                value={typeof value === 'string' ? value : ''}
                onChange={(event) => set(event.target.value)}
              />
            )}
          </label>
        );
      })}
      <button
        type="submit"
        data-testid={`custom-send-${spec.name}`}
        disabled={!enabled}
        aria-busy={pending}
      >
        {pending ? 'Sending…' : 'Run'}
      </button>
      {problem && (
        <span className="outcome error" role="alert">
          {problem}
        </span>
      )}
    </form>
  );
}

import {
  CommandState,
  CommandType,
  ConnectionState,
  TrainingStatus,
  type CommandAuditEntry,
  type HyperparameterValue,
} from '@trainwatch/proto';

/** "RUNNING", "PAUSED", ... as shown on badges (and matched by the e2e suite). */
export function statusLabel(status: TrainingStatus | undefined): string {
  switch (status) {
    case TrainingStatus.INITIALIZING:
      return 'INITIALIZING';
    case TrainingStatus.RUNNING:
      return 'RUNNING';
    case TrainingStatus.PAUSED:
      return 'PAUSED';
    case TrainingStatus.COMPLETED:
      return 'COMPLETED';
    case TrainingStatus.FAILED:
      return 'FAILED';
    case TrainingStatus.UNKNOWN:
    case undefined:
      return 'UNKNOWN';
  }
}

export function connectionLabel(connection: ConnectionState | undefined): string {
  switch (connection) {
    case ConnectionState.CONNECTED:
      return 'trainer connected';
    case ConnectionState.STALE:
      return 'trainer stale';
    case ConnectionState.DISCONNECTED:
      return 'trainer disconnected';
    case ConnectionState.CLOSED:
      return 'run ended, trainer closed';
    case ConnectionState.UNSPECIFIED:
    case undefined:
      return 'trainer state unknown';
  }
}

export function commandLabel(type: CommandType): string {
  switch (type) {
    case CommandType.PAUSE:
      return 'Pause';
    case CommandType.RESUME:
      return 'Resume';
    case CommandType.STOP:
      return 'Stop';
    case CommandType.CUSTOM:
      return 'Custom command';
    case CommandType.UNSPECIFIED:
      return 'Unspecified';
  }
}

/** An audit entry's command as a person reads it: `Pause`, or `set_lr(lr=0.01, note="warm")`. */
export function auditCommandText(entry: CommandAuditEntry): string {
  if (entry.type !== CommandType.CUSTOM) return commandLabel(entry.type);
  const args = Object.keys(entry.arguments)
    .sort()
    .map((name) => `${name}=${argumentText(entry.arguments[name])}`);
  return `${entry.customName}(${args.join(', ')})`;
}

/** One custom command argument as written in the audit log. */
function argumentText(value: HyperparameterValue | undefined): string {
  switch (value?.kind.case) {
    case 'number':
      return String(value.kind.value);
    case 'text':
      return JSON.stringify(value.kind.value);
    case 'flag':
      return value.kind.value ? 'true' : 'false';
    default:
      return '?';
  }
}

export function commandStateLabel(state: CommandState): string {
  switch (state) {
    case CommandState.PENDING:
      return 'pending';
    case CommandState.SUCCEEDED:
      return 'succeeded';
    case CommandState.FAILED:
      return 'failed';
    case CommandState.TIMED_OUT:
      return 'timed out';
    case CommandState.EXPIRED:
      return 'expired before the trainer read it';
    case CommandState.UNSPECIFIED:
      return 'unknown';
  }
}

/** 75 → "1m 15s"; 3725 → "1h 2m"; undefined or negative → "—". */
export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

/** A number with `digits` decimals, or "—" when absent. */
export function formatNumber(value: number | undefined, digits = 2): string {
  return value === undefined || !Number.isFinite(value) ? '—' : value.toFixed(digits);
}

/** Loss values span decades; four significant digits read well at any scale. */
export function formatLoss(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? '—' : value.toPrecision(4);
}

/** Milliseconds ago, coarsened past a second so it does not flicker. */
export function formatAgo(ms: number): string {
  if (ms < 0) return '0 ms ago';
  if (ms < 1000) return `${Math.round(ms)} ms ago`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s ago`;
  return `${formatDuration(ms / 1000)} ago`;
}

export function formatTime(epochMs: bigint | number): string {
  const ms = Number(epochMs);
  return ms > 0 ? new Date(ms).toLocaleTimeString() : '—';
}

/**
 * A metric or hyperparameter number: whole numbers as they are, others with
 * four significant digits, exponents for the very small and very large
 * (learning rates, gradient norms).
 */
export function formatMetric(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value) && Math.abs(value) < 1e9) return String(value);
  const size = Math.abs(value);
  if (size !== 0 && (size < 1e-3 || size >= 1e6)) return value.toExponential(2);
  return String(Number(value.toPrecision(4)));
}

import type { HyperparameterValue, RunMetadata } from '@trainwatch/proto';
import { formatMetric } from '../../../common/format';
import './run-metadata.css';

export function formatValue(value: HyperparameterValue): string {
  switch (value.kind.case) {
    case 'number':
      return formatMetric(value.kind.value);
    case 'text':
      return value.kind.value;
    case 'flag':
      return value.kind.value ? 'true' : 'false';
    case undefined:
      return '—';
  }
}

/** Tags as chips, hyperparameters as a compact key/value list (by name), the note. */
export function RunMetadataView({ metadata }: { metadata: RunMetadata | undefined }) {
  if (!metadata) return null;
  const names = Object.keys(metadata.hyperparameters).sort();
  const note = metadata.note ?? '';
  if (names.length === 0 && metadata.tags.length === 0 && note === '') return null;
  return (
    <div className="run-metadata" data-testid="run-metadata">
      {metadata.tags.length > 0 && (
        <ul className="run-tags" aria-label="Tags">
          {metadata.tags.map((tag) => (
            <li key={tag} className="run-tag" data-testid="run-tag">
              {tag}
            </li>
          ))}
        </ul>
      )}
      {names.length > 0 && (
        <dl className="hyperparameters" aria-label="Hyperparameters">
          {names.map((name) => (
            <div
              key={name}
              className="hyperparameter"
              data-testid="hyperparameter"
              data-name={name}
            >
              <dt>{name}</dt>
              <dd>{formatValue(metadata.hyperparameters[name])}</dd>
            </div>
          ))}
        </dl>
      )}
      {note !== '' && (
        <p className="run-note" data-testid="run-note">
          {note}
        </p>
      )}
    </div>
  );
}

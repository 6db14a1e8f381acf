import { SessionOrder, TrainingStatus } from '@trainwatch/proto';
import type { SessionsQuery } from '../hooks/use-run-pages';

const STATUSES: [string, TrainingStatus | undefined][] = [
  ['any status', undefined],
  ['running', TrainingStatus.RUNNING],
  ['paused', TrainingStatus.PAUSED],
  ['completed', TrainingStatus.COMPLETED],
  ['failed', TrainingStatus.FAILED],
];

const ORDERS: [string, SessionOrder][] = [
  ['newest first', SessionOrder.UNSPECIFIED],
  ['oldest first', SessionOrder.CREATED_ASC],
  ['recently updated', SessionOrder.UPDATED_DESC],
  ['name A–Z', SessionOrder.NAME_ASC],
];

/**
 * Search (id, name, model, dataset, tags: the server's ListSessions text
 * filter), one status, one tag, and the order. Each change asks the server
 * again from the first page.
 */
export function RunsToolbar({
  query,
  onChange,
}: {
  query: SessionsQuery;
  onChange: (query: SessionsQuery) => void;
}) {
  return (
    <div className="runs-toolbar" role="search">
      <input
        type="search"
        placeholder="Search name, model, dataset, tag"
        aria-label="Search runs"
        data-testid="runs-search"
        maxLength={256}
        value={query.text}
        onChange={(event) => onChange({ ...query, text: event.target.value })}
      />
      <select
        aria-label="Status"
        data-testid="runs-status-filter"
        value={query.statuses[0] ?? ''}
        onChange={(event) =>
          onChange({
            ...query,
            statuses: event.target.value === '' ? [] : [Number(event.target.value)],
          })
        }
      >
        {STATUSES.map(([label, status]) => (
          <option key={label} value={status ?? ''}>
            {label}
          </option>
        ))}
      </select>
      <input
        type="text"
        placeholder="tag"
        aria-label="Tag"
        data-testid="runs-tag-filter"
        value={query.tags[0] ?? ''}
        onChange={(event) =>
          onChange({
            ...query,
            tags: event.target.value.trim() === '' ? [] : [event.target.value.trim()],
          })
        }
      />
      <select
        aria-label="Order"
        data-testid="runs-order"
        value={query.order}
        onChange={(event) => onChange({ ...query, order: Number(event.target.value) })}
      >
        {ORDERS.map(([label, order]) => (
          <option key={label} value={order}>
            {label}
          </option>
        ))}
      </select>
    </div>
  );
}

import type { TrainingStatus } from '@trainwatch/proto';
import { statusLabel } from './format';

/** A coloured pill naming the training status. */
export function StatusBadge({ status }: { status: TrainingStatus | undefined }) {
  const label = statusLabel(status);
  return (
    <span className={`badge badge-${label.toLowerCase()}`} data-testid="status-badge">
      {label}
    </span>
  );
}

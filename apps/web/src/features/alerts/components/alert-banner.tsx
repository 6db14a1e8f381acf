import { useEffect, useState } from 'react';
import type { Alert } from '@trainwatch/proto';
import { AlertRuleKind } from '@trainwatch/proto';
import { useDashboardClient } from '../../../common/transport-context';
import { usePermission } from '../../auth/hooks/use-auth';
import { describeAccessError } from '../../auth/permissions';

/** Who acknowledges from this dashboard, in the alert. */
const ACKNOWLEDGER = 'dashboard';

const isOpen = (alert: Alert) => alert.acknowledgedAtMs === 0n;

/** Shows the open watchdog alerts with an Acknowledge button; the tab title counts them. */
export function AlertBanner({
  sessionId,
  alerts,
}: {
  sessionId: string;
  alerts: readonly Alert[];
}) {
  const client = useDashboardClient();
  const [problem, setProblem] = useState<string>();
  const permission = usePermission('acknowledge');
  const open = alerts.filter(isOpen);
  useEffect(() => {
    const base = document.title.replace(/^\(\d+ alerts?\) /, '');
    document.title =
      open.length > 0 ? `(${open.length} alert${open.length === 1 ? '' : 's'}) ${base}` : base;
    return () => {
      document.title = document.title.replace(/^\(\d+ alerts?\) /, '');
    };
  }, [open.length]);
  if (open.length === 0) return null;
  const acknowledge = (alertId: string) => {
    setProblem(undefined);
    client
      .acknowledgeAlert({ sessionId, alertId, acknowledgedBy: ACKNOWLEDGER })
      .catch((error: unknown) =>
        setProblem(
          describeAccessError(error) ?? (error instanceof Error ? error.message : String(error)),
        ),
      );
  };
  return (
    <div className="banner alert-banner" role="alert" data-testid="alert-banner">
      {open.map((alert) => (
        <p key={alert.alertId} data-testid="alert">
          <strong>{AlertRuleKind[alert.kind]}</strong> {alert.message}
          {alert.count > 1 && ` (${alert.count} times)`}
          {alert.webhookFailures > 0 && ` — webhook failed: ${alert.webhookError}`}{' '}
          <button
            type="button"
            disabled={!permission.allowed}
            title={permission.allowed ? undefined : permission.reason}
            onClick={() => acknowledge(alert.alertId)}
          >
            Acknowledge
          </button>
        </p>
      ))}
      {problem && <p className="error">{problem}</p>}
    </div>
  );
}

/** Every alert of the session, newest first (the rules in effect: AlertRulesEditor). */
export function AlertLog({ alerts }: { alerts: readonly Alert[] }) {
  return (
    <details className="alert-log" data-testid="alert-log">
      <summary>Alerts ({alerts.length})</summary>
      <ul>
        {[...alerts].reverse().map((alert) => (
          <li key={alert.alertId}>
            {new Date(Number(alert.firstAtMs)).toLocaleTimeString()} {AlertRuleKind[alert.kind]}:{' '}
            {alert.message}
            {alert.count > 1 && ` (${alert.count} times)`}
            {isOpen(alert) ? '' : ` — acknowledged by ${alert.acknowledgedBy}`}
          </li>
        ))}
      </ul>
    </details>
  );
}

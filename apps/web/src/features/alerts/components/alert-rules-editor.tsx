import { useEffect, useState } from 'react';
import type { MessageInitShape } from '@bufbuild/protobuf';
import {
  AlertAction,
  AlertRuleKind,
  type AlertRule,
  type AlertRuleSchema,
  type AlertSettings,
} from '@trainwatch/proto';
import { useDashboardClient } from '../../../common/transport-context';

/** Who changes the rules from this dashboard (a signed-in user is named by the server instead). */
const EDITOR = 'dashboard';

/** Rules whose window is milliseconds; the others count points (batches). */
const TIME_WINDOWS = new Set([AlertRuleKind.STALL, AlertRuleKind.GPU_IDLE]);

const ACTIONS = [AlertAction.NOTIFY, AlertAction.PAUSE, AlertAction.STOP] as const;

/** One rule as the form holds it: text fields stay text until saved. */
interface DraftRule {
  kind: AlertRuleKind;
  enabled: boolean;
  threshold: string;
  window: string;
  action: AlertAction;
}

const draftOf = (rule: AlertRule): DraftRule => ({
  kind: rule.kind,
  enabled: !rule.disabled,
  threshold: String(rule.threshold),
  window: String(rule.window),
  action: rule.action,
});

/** The draft as rules to send; throws naming the first field that is not a number >= 0. */
function rulesOf(drafts: readonly DraftRule[]): MessageInitShape<typeof AlertRuleSchema>[] {
  return drafts.map((draft) => {
    const name = AlertRuleKind[draft.kind];
    const threshold = Number(draft.threshold);
    if (draft.threshold.trim() === '' || !Number.isFinite(threshold) || threshold < 0) {
      throw new Error(`${name}: threshold must be a number >= 0`);
    }
    if (!/^\d+$/.test(draft.window.trim())) {
      throw new Error(`${name}: window must be a whole number >= 0`);
    }
    return {
      kind: draft.kind,
      disabled: !draft.enabled,
      threshold,
      window: BigInt(draft.window.trim()),
      action: draft.action,
    };
  });
}

/**
 * The watchdog rules in effect for this run, as a small form: each rule on
 * or off, its threshold, window and action; and the run's own webhook URLs
 * (shown without their secrets, replaced as a whole). Saving calls
 * SetAlertRules (operators); what the server puts in effect comes back to
 * every watcher and refills the form.
 */
export function AlertRulesEditor({
  sessionId,
  rules,
  settings,
}: {
  sessionId: string;
  rules: readonly AlertRule[];
  settings: AlertSettings | undefined;
}) {
  const client = useDashboardClient();
  const [drafts, setDrafts] = useState<DraftRule[]>(() => rules.map(draftOf));
  const [edited, setEdited] = useState(false);
  const [webhooks, setWebhooks] = useState('');
  const [replaceWebhooks, setReplaceWebhooks] = useState(false);
  const [saving, setSaving] = useState(false);
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string }>();

  // Rules the server put in effect refill the form unless someone is editing it.
  useEffect(() => {
    if (!edited) setDrafts(rules.map(draftOf));
  }, [rules, edited]);

  const change = (kind: AlertRuleKind, patch: Partial<DraftRule>) => {
    setEdited(true);
    setOutcome(undefined);
    setDrafts((current) =>
      current.map((draft) => (draft.kind === kind ? { ...draft, ...patch } : draft)),
    );
  };

  const save = () => {
    let request;
    try {
      request = {
        sessionId,
        rules: rulesOf(drafts),
        updatedBy: EDITOR,
        replaceWebhookUrls: replaceWebhooks,
        webhookUrls: replaceWebhooks
          ? webhooks
              .split(/[\s,]+/)
              .map((url) => url.trim())
              .filter((url) => url !== '')
          : [],
      };
    } catch (error) {
      setOutcome({ ok: false, text: (error as Error).message });
      return;
    }
    setSaving(true);
    client
      .setAlertRules(request)
      .then(() => {
        setEdited(false);
        setWebhooks('');
        setReplaceWebhooks(false);
        setOutcome({ ok: true, text: 'Saved' });
      })
      .catch((error: unknown) =>
        setOutcome({ ok: false, text: error instanceof Error ? error.message : String(error) }),
      )
      .finally(() => setSaving(false));
  };

  return (
    <section className="alert-rules" aria-label="Watchdog rules" data-testid="alert-rules">
      <table>
        <thead>
          <tr>
            <th>Rule</th>
            <th>On</th>
            <th>Threshold</th>
            <th>Window</th>
            <th>Action</th>
          </tr>
        </thead>
        <tbody>
          {drafts.map((draft) => {
            const name = AlertRuleKind[draft.kind];
            return (
              <tr key={draft.kind} data-testid={`alert-rule-${name}`}>
                <td>{name}</td>
                <td>
                  <input
                    type="checkbox"
                    name="enabled"
                    aria-label={`${name} on`}
                    checked={draft.enabled}
                    onChange={(event) => change(draft.kind, { enabled: event.target.checked })}
                  />
                </td>
                <td>
                  <input
                    name="threshold"
                    inputMode="decimal"
                    size={6}
                    aria-label={`${name} threshold`}
                    value={draft.threshold}
                    onChange={(event) => change(draft.kind, { threshold: event.target.value })}
                  />
                </td>
                <td>
                  <input
                    name="window"
                    inputMode="numeric"
                    size={7}
                    aria-label={`${name} window`}
                    value={draft.window}
                    onChange={(event) => change(draft.kind, { window: event.target.value })}
                  />{' '}
                  {TIME_WINDOWS.has(draft.kind) ? 'ms' : 'points'}
                </td>
                <td>
                  <select
                    name="action"
                    aria-label={`${name} action`}
                    value={draft.action}
                    onChange={(event) =>
                      change(draft.kind, { action: Number(event.target.value) as AlertAction })
                    }
                  >
                    {ACTIONS.map((action) => (
                      <option key={action} value={action}>
                        {AlertAction[action].toLowerCase()}
                      </option>
                    ))}
                  </select>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <p data-testid="alert-webhooks">
        Webhooks of this run:{' '}
        {settings === undefined || settings.webhookUrls.length === 0
          ? 'none'
          : settings.webhookUrls.join(', ')}
        {settings?.updatedBy ? ` · rules last changed by ${settings.updatedBy}` : ''}
      </p>
      <label>
        <input
          type="checkbox"
          name="replace-webhooks"
          checked={replaceWebhooks}
          onChange={(event) => {
            setReplaceWebhooks(event.target.checked);
            setOutcome(undefined);
          }}
        />{' '}
        Replace webhook URLs with
      </label>{' '}
      <input
        name="webhook-urls"
        size={40}
        placeholder="https://hooks.slack.com/… (several: comma-separated; empty clears)"
        value={webhooks}
        disabled={!replaceWebhooks}
        onChange={(event) => setWebhooks(event.target.value)}
      />{' '}
      <button type="button" data-testid="save-alert-rules" disabled={saving} onClick={save}>
        {saving ? 'Saving…' : 'Save rules'}
      </button>
      {outcome && (
        <span
          className={outcome.ok ? 'outcome ok' : 'outcome error'}
          role="status"
          data-testid="alert-rules-outcome"
        >
          {outcome.text}
        </span>
      )}
    </section>
  );
}

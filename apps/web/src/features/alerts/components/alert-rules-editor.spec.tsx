import { create } from '@bufbuild/protobuf';
import {
  AlertAction,
  AlertRuleKind,
  AlertRuleSchema,
  AlertSettingsSchema,
  DashboardService,
  SetAlertRulesResponseSchema,
  type SetAlertRulesRequest,
} from '@trainwatch/proto';
import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import { createRouterTransport } from '@connectrpc/connect';
import { TransportProvider } from '../../../common/transport-context';
import { AlertRulesEditor } from './alert-rules-editor';

const rules = [
  create(AlertRuleSchema, {
    kind: AlertRuleKind.NON_FINITE,
    action: AlertAction.PAUSE,
  }),
  create(AlertRuleSchema, {
    kind: AlertRuleKind.STALL,
    threshold: 10,
    window: 30_000n,
    action: AlertAction.NOTIFY,
  }),
];

function renderEditor(requests: SetAlertRulesRequest[]) {
  const transport = createRouterTransport(({ service }) =>
    service(DashboardService, {
      setAlertRules: (request) => {
        requests.push(request);
        return create(SetAlertRulesResponseSchema, {});
      },
    }),
  );
  const settings = create(AlertSettingsSchema, {
    rules,
    webhookUrls: ['https://hooks.example.com/…'],
    updatedBy: 'ops',
  });
  render(
    <TransportProvider transport={transport}>
      <AlertRulesEditor sessionId="s1" rules={rules} settings={settings} />
    </TransportProvider>,
  );
}

describe('AlertRulesEditor', () => {
  it('shows the rules in effect and the webhooks without secrets; saving sends the edited rules and the new webhook URLs', async () => {
    const requests: SetAlertRulesRequest[] = [];
    renderEditor(requests);
    expect(screen.getByTestId('alert-webhooks').textContent).toBe(
      'Webhooks of this run: https://hooks.example.com/… · rules last changed by ops',
    );
    expect((screen.getByLabelText('STALL window') as HTMLInputElement).value).toBe('30000');
    fireEvent.change(screen.getByLabelText('STALL window'), { target: { value: '2000' } });
    fireEvent.change(screen.getByLabelText('STALL action'), {
      target: { value: String(AlertAction.PAUSE) },
    });
    fireEvent.click(screen.getByLabelText('NON_FINITE on'));
    fireEvent.click(screen.getByRole('checkbox', { name: /replace webhook urls/i }));
    fireEvent.change(screen.getByPlaceholderText(/hooks\.slack\.com/), {
      target: { value: 'https://a.example.com/x, https://b.example.com/y' },
    });
    fireEvent.click(screen.getByTestId('save-alert-rules'));
    await waitFor(() =>
      expect(screen.getByTestId('alert-rules-outcome').textContent).toBe('Saved'),
    );
    expect(requests).toHaveLength(1);
    const [request] = requests;
    expect(request?.sessionId).toBe('s1');
    expect(request?.replaceWebhookUrls).toBe(true);
    expect(request?.webhookUrls).toEqual(['https://a.example.com/x', 'https://b.example.com/y']);
    expect(
      request?.rules.map((rule) => [rule.kind, rule.disabled, rule.window, rule.action]),
    ).toEqual([
      [AlertRuleKind.NON_FINITE, true, 0n, AlertAction.PAUSE],
      [AlertRuleKind.STALL, false, 2000n, AlertAction.PAUSE],
    ]);
  });

  it('names a threshold that is not a number and sends nothing', () => {
    const requests: SetAlertRulesRequest[] = [];
    renderEditor(requests);
    fireEvent.change(screen.getByLabelText('STALL threshold'), { target: { value: 'ten' } });
    fireEvent.click(screen.getByTestId('save-alert-rules'));
    expect(screen.getByTestId('alert-rules-outcome').textContent).toBe(
      'STALL: threshold must be a number >= 0',
    );
    expect(requests).toEqual([]);
  });
});

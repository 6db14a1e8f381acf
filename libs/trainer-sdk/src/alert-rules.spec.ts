import { AlertAction, AlertRuleKind } from '@trainwatch/proto';
import { toAlertRules } from './alert-rules';

describe('the alerts option', () => {
  it('becomes SessionInfo.alert_rules; left-out fields stay zero (the server default)', () => {
    const [nan, spike] = toAlertRules([
      { rule: 'non_finite', action: 'notify' },
      { rule: 'loss_spike', threshold: 4, window: 20, disabled: true },
    ]);
    expect(nan).toMatchObject({ kind: AlertRuleKind.NON_FINITE, action: AlertAction.NOTIFY });
    expect(spike).toMatchObject({
      kind: AlertRuleKind.LOSS_SPIKE,
      threshold: 4,
      window: 20n,
      action: AlertAction.UNSPECIFIED,
      disabled: true,
    });
  });

  it('names an unknown rule or action', () => {
    expect(() => toAlertRules([{ rule: 'nan' as never }])).toThrow(
      /alerts\[0\]: unknown rule "nan"/,
    );
    expect(() => toAlertRules([{ rule: 'stall', action: 'halt' as never }])).toThrow(
      /alerts\[0\]: action must be notify, pause or stop/,
    );
  });
});

import { create } from '@bufbuild/protobuf';
import { AlertAction, AlertRuleKind, AlertRuleSchema, type AlertRule } from '@trainwatch/proto';

/** A watchdog rule by its name in the `alerts` option. */
export type AlertRuleName =
  'non_finite' | 'loss_spike' | 'divergence' | 'plateau' | 'stall' | 'gpu_idle' | 'disconnected';

/**
 * One rule the run wants instead of the server's (SessionInfo.alert_rules).
 * Left-out fields keep the server's default; `disabled` turns it off.
 */
export interface AlertRuleInput {
  rule: AlertRuleName;
  threshold?: number;
  /** Batches, or milliseconds for `stall` and `gpu_idle`. */
  window?: number;
  action?: 'notify' | 'pause' | 'stop';
  disabled?: boolean;
}

const KINDS: Record<AlertRuleName, AlertRuleKind> = {
  non_finite: AlertRuleKind.NON_FINITE,
  loss_spike: AlertRuleKind.LOSS_SPIKE,
  divergence: AlertRuleKind.DIVERGENCE,
  plateau: AlertRuleKind.PLATEAU,
  stall: AlertRuleKind.STALL,
  gpu_idle: AlertRuleKind.GPU_IDLE,
  disconnected: AlertRuleKind.DISCONNECTED,
};

const ACTIONS = { notify: AlertAction.NOTIFY, pause: AlertAction.PAUSE, stop: AlertAction.STOP };

/** The `alerts` option as the contract's rules; throws naming an unknown rule or action. */
export function toAlertRules(inputs: readonly AlertRuleInput[] = []): AlertRule[] {
  return inputs.map((input, index) => {
    const kind = KINDS[input.rule];
    if (kind === undefined) {
      throw new Error(
        `alerts[${index}]: unknown rule ${JSON.stringify(input.rule)}; one of ${Object.keys(KINDS).join(', ')}`,
      );
    }
    const action = input.action === undefined ? AlertAction.UNSPECIFIED : ACTIONS[input.action];
    if (action === undefined) {
      throw new Error(`alerts[${index}]: action must be notify, pause or stop`);
    }
    return create(AlertRuleSchema, {
      kind,
      threshold: input.threshold ?? 0,
      window: BigInt(Math.round(input.window ?? 0)),
      action,
      disabled: input.disabled ?? false,
    });
  });
}

import { create } from '@bufbuild/protobuf';
import { AlertAction, AlertRuleKind, AlertRuleSchema, type AlertRule } from '@trainwatch/proto';
import { errors } from '../common/app-error';

/** Where a rule's defaults come from besides the constants below (settings). */
export interface RuleDefaults {
  /** The stall rule's window: shortest time without a batch that is a stall. */
  stallMinMs: number;
}

/** Every rule kind, in the order they are listed. */
export const RULE_KINDS = [
  AlertRuleKind.NON_FINITE,
  AlertRuleKind.LOSS_SPIKE,
  AlertRuleKind.DIVERGENCE,
  AlertRuleKind.PLATEAU,
  AlertRuleKind.STALL,
  AlertRuleKind.GPU_IDLE,
  AlertRuleKind.DISCONNECTED,
] as const;

/** Short names, for messages and the webhook text. */
export const RULE_NAMES: Record<AlertRuleKind, string> = {
  [AlertRuleKind.UNSPECIFIED]: 'unspecified',
  [AlertRuleKind.NON_FINITE]: 'non-finite value',
  [AlertRuleKind.LOSS_SPIKE]: 'loss spike',
  [AlertRuleKind.DIVERGENCE]: 'divergence',
  [AlertRuleKind.PLATEAU]: 'plateau',
  [AlertRuleKind.STALL]: 'stall',
  [AlertRuleKind.GPU_IDLE]: 'GPU idle',
  [AlertRuleKind.DISCONNECTED]: 'trainer disconnected',
};

/** Largest window in points a rule may ask for (the watchdog keeps twice the plateau window). */
export const MAX_RULE_WINDOW_POINTS = 512;

/**
 * The rules every session gets unless it asks otherwise. A NaN pauses the
 * run (nothing after it is worth the GPU time); the rest notify.
 */
export function defaultRules(defaults: RuleDefaults): AlertRule[] {
  const rule = (kind: AlertRuleKind, threshold: number, window: number, action: AlertAction) =>
    create(AlertRuleSchema, { kind, threshold, window: BigInt(window), action });
  return [
    rule(AlertRuleKind.NON_FINITE, 0, 0, AlertAction.PAUSE),
    // 6 robust z-scores over 50 batches: noise of a healthy run stays far under it.
    rule(AlertRuleKind.LOSS_SPIKE, 6, 50, AlertAction.NOTIFY),
    // 50 batches in a row above twice the best loss.
    rule(AlertRuleKind.DIVERGENCE, 1, 50, AlertAction.NOTIFY),
    // Under 0.1 % better over 500 batches than over the 500 before.
    rule(AlertRuleKind.PLATEAU, 0.001, MAX_RULE_WINDOW_POINTS, AlertAction.NOTIFY),
    // 10 × the usual batch interval, at least the stall minimum.
    rule(AlertRuleKind.STALL, 10, defaults.stallMinMs, AlertAction.NOTIFY),
    // Under 5 % for 5 minutes.
    rule(AlertRuleKind.GPU_IDLE, 5, 5 * 60_000, AlertAction.NOTIFY),
    rule(AlertRuleKind.DISCONNECTED, 0, 0, AlertAction.NOTIFY),
  ];
}

/**
 * Checks rules a trainer or an operator asks for; throws INVALID_ARGUMENT
 * naming the rule and what is wrong.
 */
export function validateRules(rules: readonly AlertRule[], where: string): void {
  const seen = new Set<AlertRuleKind>();
  for (const [index, rule] of rules.entries()) {
    const name = `${where}[${index}]`;
    if (!RULE_KINDS.includes(rule.kind as (typeof RULE_KINDS)[number])) {
      throw errors.invalidArgument(`${name}: kind ${rule.kind} is not an alert rule kind`);
    }
    if (seen.has(rule.kind)) {
      throw errors.invalidArgument(`${name}: ${RULE_NAMES[rule.kind]} is named twice`);
    }
    seen.add(rule.kind);
    if (!Number.isFinite(rule.threshold) || rule.threshold < 0) {
      throw errors.invalidArgument(`${name}: threshold must be a finite number >= 0`);
    }
    if (rule.window < 0n) throw errors.invalidArgument(`${name}: window must be >= 0`);
    const timeRule = rule.kind === AlertRuleKind.STALL || rule.kind === AlertRuleKind.GPU_IDLE;
    if (!timeRule && rule.window > BigInt(MAX_RULE_WINDOW_POINTS)) {
      throw errors.invalidArgument(
        `${name}: window ${rule.window} is more than ${MAX_RULE_WINDOW_POINTS} points`,
      );
    }
    if (!(rule.action in AlertAction)) {
      throw errors.invalidArgument(`${name}: action ${rule.action} is not an alert action`);
    }
  }
}

/**
 * The rules in effect: the defaults, each replaced by the same kind in
 * `overrides` (later lists win), a zero threshold or window and an
 * unspecified action keeping the default's.
 */
export function effectiveRules(
  defaults: RuleDefaults,
  ...overrides: readonly (readonly AlertRule[])[]
): AlertRule[] {
  return overriddenRules(defaultRules(defaults), ...overrides);
}

/**
 * `base` (one rule per kind) with each rule replaced by the same kind in
 * `overrides` (later lists win), a zero threshold or window and an
 * unspecified action keeping the base rule's.
 */
export function overriddenRules(
  base: readonly AlertRule[],
  ...overrides: readonly (readonly AlertRule[])[]
): AlertRule[] {
  const rules = [...base];
  for (const list of overrides) {
    for (const override of list) {
      const index = rules.findIndex((rule) => rule.kind === override.kind);
      const current = rules[index];
      if (current === undefined) continue;
      rules[index] = create(AlertRuleSchema, {
        kind: current.kind,
        disabled: override.disabled,
        threshold: override.threshold || current.threshold,
        window: override.window || current.window,
        action: override.action || current.action,
      });
    }
  }
  return rules;
}

import { randomUUID } from 'node:crypto';
import { clone, create } from '@bufbuild/protobuf';
import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import {
  AlertAction,
  AlertRuleKind,
  AlertSchema,
  CommandType,
  ConnectionState,
  LOSS_SERIES,
  SendCommandRequestSchema,
  SYSTEM_SERIES_PREFIX,
  TrainingStatus,
  type AcknowledgeAlertRequest,
  type Alert,
  type AlertRule,
  type AlertSettings,
  type SetAlertRulesRequest,
} from '@trainwatch/proto';
import { errors } from '../common/app-error';
import {
  MAX_ACKNOWLEDGED_BY_LENGTH,
  MAX_ALERT_SETTINGS_BY_LENGTH,
  MAX_ALERT_MESSAGE_LENGTH,
  MAX_WATCHDOG_GPU_SAMPLES,
  MAX_WATCHDOG_WINDOW_POINTS,
} from '../common/limits';
import { CommandsService } from '../commands/commands.service';
import { SERVER_SETTINGS } from '../config/config.module';
import type { ServerSettings } from '../config/server-config';
import { SessionEventBus } from '../events/event-bus';
import type { Session } from '../sessions/session';
import { SessionsService } from '../sessions/sessions.service';
import { effectiveRules, overriddenRules, RULE_NAMES, validateRules } from './alert-rules';
import { checkWebhookUrls } from './webhook-urls';
import {
  isDiverging,
  isGpuIdle,
  isLossSpike,
  isPlateau,
  isStalled,
  stallAfterMs,
  type Sample,
} from './rule-checks';

/** Who the watchdog's commands are issued by, in the audit log. */
export const WATCHDOG_ISSUER = 'watchdog';

/** What the watchdog remembers of one session, every list bounded. */
interface Watch {
  rules: Map<AlertRuleKind, AlertRule>;
  /** Finite losses, oldest first (MAX_WATCHDOG_WINDOW_POINTS newest). */
  losses: number[];
  runningMin: number;
  /** Milliseconds between consecutive batches (MAX_WATCHDOG_WINDOW_POINTS newest). */
  intervals: number[];
  lastBatchAtMs: number | undefined;
  /** Lowest GPU utilisation per sample time (MAX_WATCHDOG_GPU_SAMPLES newest). */
  gpu: Sample[];
  /** The alert per rule kind no person has acknowledged yet: firings fold into it. */
  open: Map<AlertRuleKind, Alert>;
}

/** Where a firing happened, for the alert. */
interface Firing {
  message: string;
  step?: bigint;
  series?: string;
  value?: number;
}

const push = <T>(list: T[], value: T, bound: number) => {
  list.push(value);
  if (list.length > bound) list.shift();
};

/** The newest unacknowledged alert per kind: a restored run's open alerts keep folding firings. */
function openAlerts(alerts: readonly Alert[]): Map<AlertRuleKind, Alert> {
  const open = new Map<AlertRuleKind, Alert>();
  for (const alert of alerts) if (alert.acknowledgedAtMs === 0n) open.set(alert.kind, alert);
  return open;
}

/**
 * A measured number as an alert's text shows it: four significant digits
 * (3.308, not 3.3077542675164935) read at any scale; the exact value stays
 * in Alert.value.
 */
const shown = (value: number): string =>
  Number.isFinite(value) ? String(Number(value.toPrecision(4))) : String(value);

/** True for a count that is a power of two: folded firings are re-announced at 1, 2, 4, 8... */
const isPowerOfTwo = (count: number) => (count & (count - 1)) === 0;

/**
 * Evaluates every session's rules on the event bus as data arrives (and on
 * a timer for the rules about time), raises alerts, and acts on them. An
 * alert stays open until a person acknowledges it; a rule firing again
 * meanwhile is folded into it (count, last time) and does not act again, so
 * a NaN every batch is one alert and one PAUSE.
 */
@Injectable()
export class WatchdogService implements OnModuleDestroy {
  private readonly logger = new Logger('Watchdog');
  private readonly watches = new WeakMap<Session, Watch>();
  /** Sessions with a trainer that may stall, checked on the timer. */
  private readonly timed = new Set<Session>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    @Inject(SERVER_SETTINGS) private readonly settings: ServerSettings,
    private readonly bus: SessionEventBus,
    private readonly sessions: SessionsService,
    private readonly commands: CommandsService,
  ) {
    bus.on('session.registered', ({ session, alertRules, webhookUrls }) =>
      this.configure(session, alertRules, webhookUrls),
    );
    bus.on('batch.applied', ({ session, batch, step, receivedAtMs }) => {
      const watch = this.watchOf(session);
      this.checkValue(session, watch, LOSS_SERIES, batch.batchLoss, step);
      for (const name in batch.metrics) {
        this.checkValue(session, watch, name, batch.metrics[name] as number, step);
      }
      if (watch.lastBatchAtMs !== undefined) {
        push(watch.intervals, receivedAtMs - watch.lastBatchAtMs, MAX_WATCHDOG_WINDOW_POINTS);
      }
      watch.lastBatchAtMs = receivedAtMs;
      this.timed.add(session);
      if (Number.isFinite(batch.batchLoss)) this.checkLoss(session, watch, batch.batchLoss, step);
    });
    bus.on('epoch.applied', ({ session, epoch }) => {
      const watch = this.watchOf(session);
      const step = BigInt(epoch.epoch);
      this.checkValue(session, watch, 'epoch average_loss', epoch.averageLoss, step);
      this.checkValue(session, watch, 'epoch average_accuracy', epoch.averageAccuracy, step);
      for (const name in epoch.metrics) {
        this.checkValue(session, watch, name, epoch.metrics[name] as number, step);
      }
    });
    bus.on('scalars.applied', ({ session, scalars, timestampMs }) => {
      const watch = this.watchOf(session);
      let gpu: number | undefined;
      for (const name in scalars.values) {
        const value = scalars.values[name] as number;
        this.checkValue(session, watch, name, value, scalars.step);
        if (name.startsWith(`${SYSTEM_SERIES_PREFIX}gpu`) && name.includes('util')) {
          gpu = gpu === undefined ? value : Math.max(gpu, value);
        }
      }
      if (gpu !== undefined)
        push(watch.gpu, { atMs: timestampMs, value: gpu }, MAX_WATCHDOG_GPU_SAMPLES);
    });
    bus.on('performance.applied', ({ session, performance }) => {
      const usage = performance.resourceUsage;
      if (usage === undefined || usage.gpuPercent === 0) return;
      push(
        this.watchOf(session).gpu,
        { atMs: Date.now(), value: usage.gpuPercent },
        MAX_WATCHDOG_GPU_SAMPLES,
      );
    });
    bus.on('status.changed', ({ session, status }) => {
      // A server that stops ends every stream itself; those trainers come back when it does.
      if (
        status.connection === ConnectionState.DISCONNECTED &&
        !session.finished &&
        !this.sessions.shuttingDown
      ) {
        this.fire(session, this.watchOf(session), AlertRuleKind.DISCONNECTED, {
          message: `the trainer of ${session.id} disconnected without a final status`,
        });
      }
      if (session.finished) this.timed.delete(session);
    });
    this.timer = setInterval(() => this.checkTime(Date.now()), settings.watchdogCheckIntervalMs);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** AcknowledgeAlert: a person saw it; the rule's next firing raises a new alert. */
  acknowledge(request: AcknowledgeAlertRequest): Alert {
    if (request.acknowledgedBy.length > MAX_ACKNOWLEDGED_BY_LENGTH) {
      throw errors.invalidArgument(
        `acknowledged_by is longer than ${MAX_ACKNOWLEDGED_BY_LENGTH} characters`,
      );
    }
    const session = this.sessions.get(request.sessionId);
    const found = session.alerts.find((alert) => alert.alertId === request.alertId);
    if (found === undefined) {
      throw errors.notFound(`session ${session.id} has no alert ${request.alertId}`);
    }
    if (found.acknowledgedAtMs !== 0n) return found;
    const alert = clone(AlertSchema, found);
    alert.acknowledgedBy = request.acknowledgedBy || 'dashboard';
    alert.acknowledgedAtMs = BigInt(Date.now());
    const watch = this.watches.get(session);
    if (watch?.open.get(alert.kind)?.alertId === alert.alertId) watch.open.delete(alert.kind);
    this.publish(session, alert);
    return alert;
  }

  /** Publishes a changed alert (the session keeps it, watchers and webhooks get it). */
  publish(session: Session, alert: Alert): void {
    session.recordAlert(alert);
    const watch = this.watches.get(session);
    if (watch?.open.get(alert.kind)?.alertId === alert.alertId) watch.open.set(alert.kind, alert);
    void this.bus.emit('alert.changed', { session, alert });
  }

  /**
   * SetAlertRules: an operator changes rules and, with replace_webhook_urls,
   * the session's webhook URLs. The changed rules are kept apart too, so
   * they outlast the trainer's next registration.
   */
  setRules(session: Session, request: SetAlertRulesRequest, issuedBy: string): AlertSettings {
    validateRules(request.rules, 'rules');
    const by = issuedBy || request.updatedBy || 'dashboard';
    if (by.length > MAX_ALERT_SETTINGS_BY_LENGTH) {
      throw errors.invalidArgument(
        `updated_by is longer than ${MAX_ALERT_SETTINGS_BY_LENGTH} characters`,
      );
    }
    if (request.replaceWebhookUrls) {
      checkWebhookUrls(request.webhookUrls, this.settings.webhookAllowedHosts, 'webhook_urls');
    }
    this.watchOf(session); // the defaults, for a session that has no rules yet
    const rules = overriddenRules(session.alertRules, request.rules);
    const changed = new Set(request.rules.map((rule) => rule.kind));
    session.operatorAlertRules = [
      ...session.operatorAlertRules.filter((rule) => !changed.has(rule.kind)),
      ...rules.filter((rule) => changed.has(rule.kind)),
    ];
    if (request.replaceWebhookUrls) {
      session.webhookUrls = [...request.webhookUrls];
      session.webhookUrlsFromOperator = true;
    }
    session.alertSettingsBy = by;
    session.alertSettingsAtMs = Date.now();
    return this.apply(session, rules);
  }

  private configure(
    session: Session,
    requested: readonly AlertRule[],
    webhookUrls: readonly string[],
  ): void {
    // An operator's changes outlast the trainer's registrations (it may resend its own each time).
    const rules = effectiveRules(
      { stallMinMs: this.settings.watchdogStallMinMs },
      requested,
      session.operatorAlertRules,
    );
    if (!session.webhookUrlsFromOperator) session.webhookUrls = [...webhookUrls];
    this.apply(session, rules);
  }

  /** Puts rules in effect and tells watchers and the store. */
  private apply(session: Session, rules: AlertRule[]): AlertSettings {
    session.alertRules = rules;
    const watch = this.watchOf(session);
    watch.rules = new Map(rules.filter((rule) => !rule.disabled).map((rule) => [rule.kind, rule]));
    const settings = session.alertSettings();
    void this.bus.emit('alert-settings.changed', { session, settings });
    return settings;
  }

  private watchOf(session: Session): Watch {
    let watch = this.watches.get(session);
    if (watch === undefined) {
      if (session.alertRules.length === 0) {
        // A run restored from the store, or one that never registered here: the defaults.
        session.alertRules = effectiveRules({ stallMinMs: this.settings.watchdogStallMinMs });
      }
      watch = {
        rules: new Map(
          session.alertRules.filter((rule) => !rule.disabled).map((rule) => [rule.kind, rule]),
        ),
        losses: [],
        runningMin: Number.POSITIVE_INFINITY,
        intervals: [],
        lastBatchAtMs: undefined,
        gpu: [],
        open: openAlerts(session.alerts),
      };
      this.watches.set(session, watch);
    }
    return watch;
  }

  private checkValue(
    session: Session,
    watch: Watch,
    series: string,
    value: number,
    step: bigint,
  ): void {
    if (Number.isFinite(value)) return;
    this.fire(session, watch, AlertRuleKind.NON_FINITE, {
      message: `${series} is ${value} at step ${step}`,
      step,
      series,
      value,
    });
  }

  private checkLoss(session: Session, watch: Watch, loss: number, step: bigint): void {
    const spike = watch.rules.get(AlertRuleKind.LOSS_SPIKE);
    if (spike !== undefined) {
      const window = Math.min(Number(spike.window), watch.losses.length);
      if (isLossSpike(watch.losses, loss, spike.threshold, window)) {
        this.fire(session, watch, AlertRuleKind.LOSS_SPIKE, {
          message: `loss spiked to ${shown(loss)} at step ${step} (over ${spike.threshold} robust z-scores above the last ${window} batches)`,
          step,
          series: LOSS_SERIES,
          value: loss,
        });
      }
    }
    push(watch.losses, loss, MAX_WATCHDOG_WINDOW_POINTS);
    watch.runningMin = Math.min(watch.runningMin, loss);
    const divergence = watch.rules.get(AlertRuleKind.DIVERGENCE);
    if (
      divergence !== undefined &&
      isDiverging(watch.losses, watch.runningMin, divergence.threshold, Number(divergence.window))
    ) {
      this.fire(session, watch, AlertRuleKind.DIVERGENCE, {
        message: `loss ${shown(loss)} at step ${step}: the last ${divergence.window} batches stayed above ${shown(1 + divergence.threshold)}× the best loss ${shown(watch.runningMin)}`,
        step,
        series: LOSS_SERIES,
        value: loss,
      });
    }
    const plateau = watch.rules.get(AlertRuleKind.PLATEAU);
    if (
      plateau !== undefined &&
      isPlateau(watch.losses, plateau.threshold, Number(plateau.window))
    ) {
      this.fire(session, watch, AlertRuleKind.PLATEAU, {
        message: `loss has not improved by ${shown(plateau.threshold * 100)} % over the last ${plateau.window} batches (step ${step})`,
        step,
        series: LOSS_SERIES,
        value: loss,
      });
    }
  }

  /** The rules about time: stall and GPU idle, for every session with a trainer. */
  private checkTime(nowMs: number): void {
    for (const session of this.timed) {
      if (this.sessions.find(session.id) !== session || session.finished) {
        this.timed.delete(session);
        continue;
      }
      const watch = this.watchOf(session);
      const stall = watch.rules.get(AlertRuleKind.STALL);
      // A paused run is not stalled: it waits for a person on purpose.
      if (
        stall !== undefined &&
        session.status !== TrainingStatus.PAUSED &&
        isStalled(
          watch.lastBatchAtMs,
          nowMs,
          watch.intervals,
          stall.threshold,
          Number(stall.window),
        )
      ) {
        const bound = stallAfterMs(watch.intervals, stall.threshold, Number(stall.window));
        this.fire(session, watch, AlertRuleKind.STALL, {
          message: `no batch from ${session.id} for ${Math.round((nowMs - (watch.lastBatchAtMs ?? nowMs)) / 1000)} s (stall after ${bound} ms)`,
        });
      }
      const idle = watch.rules.get(AlertRuleKind.GPU_IDLE);
      if (idle !== undefined && isGpuIdle(watch.gpu, nowMs, idle.threshold, Number(idle.window))) {
        this.fire(session, watch, AlertRuleKind.GPU_IDLE, {
          message: `GPU utilisation of ${session.id} under ${idle.threshold} % for ${Math.round(Number(idle.window) / 1000)} s`,
        });
      }
    }
  }

  private fire(session: Session, watch: Watch, kind: AlertRuleKind, firing: Firing): void {
    const rule = watch.rules.get(kind);
    if (rule === undefined) return;
    const now = Date.now();
    const open = watch.open.get(kind);
    if (open !== undefined) {
      const folded = clone(AlertSchema, open);
      folded.count += 1;
      folded.lastAtMs = BigInt(now);
      watch.open.set(kind, folded);
      session.recordAlert(folded);
      // Watchers hear of a storm at 2, 4, 8... firings, not at every batch.
      if (isPowerOfTwo(folded.count))
        void this.bus.emit('alert.changed', { session, alert: folded });
      else void this.bus.emit('alert.folded', { session, alert: folded });
      return;
    }
    const alert = create(AlertSchema, {
      alertId: randomUUID(),
      sessionId: session.id,
      kind,
      action: rule.action,
      message: `${RULE_NAMES[kind]}: ${firing.message}`.slice(0, MAX_ALERT_MESSAGE_LENGTH),
      firstAtMs: BigInt(now),
      lastAtMs: BigInt(now),
      count: 1,
      step: firing.step ?? 0n,
      series: firing.series ?? '',
      value: firing.value ?? 0,
    });
    watch.open.set(kind, alert);
    this.act(session, alert);
    this.publish(session, alert);
  }

  /** PAUSE or STOP for an alert whose rule asks for it, through the dashboard's command path. */
  private act(session: Session, alert: Alert): void {
    if (alert.action !== AlertAction.PAUSE && alert.action !== AlertAction.STOP) return;
    if (session.trainer === undefined || session.finished) return;
    if (alert.action === AlertAction.PAUSE && session.status === TrainingStatus.PAUSED) return;
    const type = alert.action === AlertAction.PAUSE ? CommandType.PAUSE : CommandType.STOP;
    const sent = this.commands.send(
      create(SendCommandRequestSchema, {
        sessionId: session.id,
        type,
        issuedBy: WATCHDOG_ISSUER,
        reason: alert.message,
      }),
    );
    // send() records the PENDING audit entry before it first waits.
    const entry = session.commands[session.commands.length - 1];
    if (entry?.issuedBy === WATCHDOG_ISSUER && entry.reason === alert.message) {
      alert.commandId = entry.commandId;
    }
    sent.catch((error: unknown) => {
      // The audit log has the outcome (timed out, trainer gone); the alert stands.
      this.logger.warn(`${CommandType[type]} for alert ${alert.alertId}: ${String(error)}`);
    });
  }
}

import { clone } from '@bufbuild/protobuf';
import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { AlertSchema, type Alert } from '@trainwatch/proto';
import {
  MAX_WEBHOOK_ATTEMPTS,
  WEBHOOK_ALERTS_REMEMBERED,
  WEBHOOK_QUEUE_PER_URL,
  WEBHOOK_QUEUE_SIZE,
  WEBHOOK_TIMEOUT_MS,
} from '../common/limits';
import { SERVER_SETTINGS } from '../config/config.module';
import type { ServerSettings } from '../config/server-config';
import { SessionEventBus } from '../events/event-bus';
import { MetricsService } from '../metrics/metrics.service';
import type { Session } from '../sessions/session';
import { WatchdogService } from './watchdog.service';
import { redactedWebhookUrl } from './webhook-urls';

/** One alert to post to one URL. */
interface Delivery {
  session: Session;
  alert: Alert;
  url: string;
}

/** What went wrong, with the network cause fetch wraps ("fetch failed" says nothing). */
function failureText(error: unknown): string {
  const message = (value: unknown) =>
    typeof value === 'object' && value !== null && 'message' in value
      ? String((value as { message: unknown }).message)
      : String(value);
  const cause =
    typeof error === 'object' && error !== null ? (error as { cause?: unknown }).cause : undefined;
  return cause === undefined ? message(error) : `${message(error)}: ${message(cause)}`;
}

/** The JSON body: Slack's incoming webhooks read `text`; the rest is for other receivers. */
export function webhookBody(alert: Alert): string {
  return JSON.stringify({
    text: `[trainwatch] ${alert.sessionId}: ${alert.message}`,
    session_id: alert.sessionId,
    alert_id: alert.alertId,
    message: alert.message,
    step: Number(alert.step),
    series: alert.series,
    value: Number.isFinite(alert.value) ? alert.value : String(alert.value),
    first_at_ms: Number(alert.firstAtMs),
  });
}

/**
 * Posts every newly raised alert to the deployment's webhook URLs
 * (WEBHOOK_URLS) and to its session's own (SessionInfo.webhook_urls,
 * SetAlertRules). Off the hot path: the bus listener only queues; each URL
 * has its own queue and sender loop, which posts with a timeout and retries
 * with doubling backoff, so an endpoint that is down or hangs delays only
 * its own deliveries. Queues are bounded (WEBHOOK_QUEUE_PER_URL per URL,
 * WEBHOOK_QUEUE_SIZE in all; the URL's oldest dropped and counted), so a
 * down endpoint costs bounded memory and never slows ingest. Failures are
 * counted in /metrics and recorded on the alert.
 */
@Injectable()
export class WebhookSender implements OnModuleDestroy {
  private readonly logger = new Logger('Webhooks');
  /** Waiting deliveries per URL; a URL's entry goes once its queue is empty. */
  private readonly queues = new Map<string, Delivery[]>();
  private queued = 0;
  /** Alerts already queued, so their later changes are not posted again (oldest forgotten first). */
  private readonly announced = new Set<string>();
  private closed = false;
  private delivered = 0;
  private failed = 0;
  private dropped = 0;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    @Inject(SERVER_SETTINGS) private readonly settings: ServerSettings,
    bus: SessionEventBus,
    metrics: MetricsService,
    private readonly watchdog: WatchdogService,
  ) {
    metrics.counter('webhook_deliveries_total', 'Alert webhooks delivered.', () => this.delivered);
    metrics.counter(
      'webhook_failures_total',
      'Alert webhooks that failed after every retry.',
      () => this.failed,
    );
    metrics.counter(
      'webhook_dropped_total',
      'Alert webhooks dropped because the queue was full.',
      () => this.dropped,
    );
    metrics.gauge('webhook_queue_length', 'Alert webhooks waiting to be sent.', () => this.queued);
    bus.on('alert.changed', ({ session, alert }) => this.enqueue(session, alert));
  }

  onModuleDestroy(): void {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.queues.clear();
    this.queued = 0;
  }

  private enqueue(session: Session, alert: Alert): void {
    // Only a newly raised alert is posted: a folded firing (also one of an
    // alert kept across a restart) or an acknowledgement is not news.
    if (alert.count !== 1 || this.announced.has(alert.alertId) || alert.acknowledgedAtMs !== 0n)
      return;
    const urls = [...this.settings.webhookUrls, ...session.webhookUrls];
    if (urls.length === 0) return;
    this.announced.add(alert.alertId);
    if (this.announced.size > WEBHOOK_ALERTS_REMEMBERED) {
      this.announced.delete(this.announced.values().next().value as string);
    }
    for (const url of urls) {
      let queue = this.queues.get(url);
      const idle = queue === undefined;
      if (queue === undefined) this.queues.set(url, (queue = []));
      queue.push({ session, alert, url });
      this.queued += 1;
      // Past either bound, this URL's oldest goes: the backlog is the slow endpoint's own.
      if (queue.length > WEBHOOK_QUEUE_PER_URL || this.queued > WEBHOOK_QUEUE_SIZE) {
        queue.shift();
        this.queued -= 1;
        this.dropped += 1;
      }
      if (idle) void this.drain(url, queue);
    }
  }

  /** Sends one URL's deliveries in order until its queue is empty. */
  private async drain(url: string, queue: Delivery[]): Promise<void> {
    try {
      for (let next = queue.shift(); next !== undefined && !this.closed; next = queue.shift()) {
        this.queued -= 1;
        await this.deliver(next);
      }
    } finally {
      if (this.queues.get(url) === queue) this.queues.delete(url);
    }
  }

  private async deliver({ session, alert, url }: Delivery): Promise<void> {
    let error = '';
    for (let attempt = 1; attempt <= MAX_WEBHOOK_ATTEMPTS && !this.closed; attempt++) {
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: webhookBody(alert),
          signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
        });
        await response.arrayBuffer();
        if (response.ok) {
          this.delivered += 1;
          return;
        }
        error = `HTTP ${response.status}`;
      } catch (cause) {
        error = failureText(cause);
      }
      if (attempt < MAX_WEBHOOK_ATTEMPTS)
        await this.wait(this.settings.webhookRetryBaseMs * 2 ** (attempt - 1));
    }
    if (this.closed) return;
    this.failed += 1;
    // The URL's path and query may be its secret: neither is logged nor shown.
    const shown = redactedWebhookUrl(url);
    this.logger.warn(`webhook ${shown} for alert ${alert.alertId} failed: ${error}`);
    const current = session.alerts.find((held) => held.alertId === alert.alertId) ?? alert;
    const changed = clone(AlertSchema, current);
    changed.webhookFailures += 1;
    changed.webhookError = `${shown}: ${error}`.slice(0, 512);
    this.watchdog.publish(session, changed);
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }
}

/**
 * Ingest with failing webhooks: the same ramp of trainers, every batch's
 * loss NaN and every alert acknowledged at once (so a new alert is raised
 * on the next batch, a storm of them), against a server with no webhook and
 * one whose alerts go to 10 failing endpoints (5 refuse connections, 5 accept
 * and never answer). A down endpoint must not slow ingest.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClient } from '@connectrpc/connect';
import { createGrpcWebTransport } from '@connectrpc/connect-web';
import { DashboardService } from '@trainwatch/proto';
import { count, num, times } from '../common/format';
import {
  maxSustained,
  ramp,
  stepTable,
  type RampCompanion,
  type StepResult,
} from '../common/ingest-ramp';
import { runBench, type ResultTable, type TargetVerdict } from '../common/result';
import { ratio } from '../common/stats';
import type { Target } from '../common/targets';

/** Failing endpoints of each kind. */
const REFUSING = 5;
const HANGING = 5;
const IMAGE_SIZE = 2048;

/** What the acknowledging dashboard and the server's /metrics said by the end of a ramp. */
interface StormFigures {
  alertsSeen: number;
  acknowledged: number;
  webhookFailures: number;
  webhookDropped: number;
  webhookQueue: number;
}

const metric = (text: string, name: string): number =>
  Number(new RegExp(`^trainwatch_${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);

/**
 * A dashboard that watches every trainer's session and acknowledges each
 * alert as it arrives, so the next NaN raises a new one (and new webhooks).
 */
function acknowledger(figures: StormFigures) {
  return (target: Target): RampCompanion => {
    const client = createClient(
      DashboardService,
      createGrpcWebTransport({ baseUrl: target.httpUrl ?? '' }),
    );
    const abort = new AbortController();
    const loops: Promise<void>[] = [];
    const watch = async (sessionId: string) => {
      for await (const event of client.watchSession({ sessionId }, { signal: abort.signal })) {
        const alerts =
          event.event.case === 'alert'
            ? [event.event.value]
            : event.event.case === 'snapshot'
              ? event.event.value.alerts
              : [];
        for (const alert of alerts) {
          if (alert.acknowledgedAtMs !== 0n || alert.count !== 1) continue;
          figures.alertsSeen += 1;
          void client
            .acknowledgeAlert({ sessionId, alertId: alert.alertId, acknowledgedBy: 'bench' })
            .then(() => (figures.acknowledged += 1))
            .catch(() => undefined);
        }
      }
    };
    return {
      add: (sessionId) => loops.push(watch(sessionId).catch(() => undefined)),
      stop: async () => {
        abort.abort();
        const response = await fetch(`${target.httpUrl}/metrics`, {
          signal: AbortSignal.timeout(5000),
        });
        const text = await response.text();
        figures.webhookFailures = metric(text, 'webhook_failures_total');
        figures.webhookDropped = metric(text, 'webhook_dropped_total');
        figures.webhookQueue = metric(text, 'webhook_queue_length');
        // The watches end with the abort; a stream the server has not closed yet is not waited for.
        await Promise.race([
          Promise.all(loops),
          new Promise((resolve) => setTimeout(resolve, 2000).unref()),
        ]);
        console.error(`[webhooks] ${JSON.stringify(figures)}`);
      },
    };
  };
}

/** 5 closed ports and 5 servers that accept a request and never answer. */
async function failingEndpoints(): Promise<{ urls: string[]; close(): Promise<void> }> {
  const urls: string[] = [];
  for (let index = 0; index < REFUSING; index++) {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    urls.push(`http://127.0.0.1:${(closed.address() as AddressInfo).port}/refused/${index}`);
    await new Promise<void>((resolve) => closed.close(() => resolve()));
  }
  const hanging: Server[] = [];
  const held: ServerResponse[] = [];
  for (let index = 0; index < HANGING; index++) {
    const server = createServer((_request, response) => {
      // Bounded by the server's webhook timeout: it gives up, never us.
      held.push(response);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    urls.push(`http://127.0.0.1:${(server.address() as AddressInfo).port}/hangs/${index}`);
    hanging.push(server);
  }
  return {
    urls,
    close: async () => {
      for (const response of held.splice(0)) response.destroy();
      await Promise.all(
        hanging.map(
          (server) =>
            new Promise<void>((resolve) => {
              server.closeAllConnections();
              server.close(() => resolve());
            }),
        ),
      );
    },
  };
}

runBench(
  'webhooks',
  'Ingest with 10 failing webhooks against none, in an alert storm',
  async ({ quick }) => {
    const warmupMs = quick ? 1000 : 3000;
    const windowMs = quick ? 2000 : 8000;
    const steps = quick ? [2, 5] : [10, 25, 50, 75, 100, 130];
    const notes: string[] = [];
    const endpoints = await failingEndpoints();
    const variants = [
      { label: 'no webhook', env: {} as Record<string, string> },
      { label: '10 failing webhooks', env: { WEBHOOK_URLS: endpoints.urls.join(',') } },
    ];
    const results: { label: string; steps: StepResult[]; figures: StormFigures }[] = [];
    try {
      for (const variant of variants) {
        const figures: StormFigures = {
          alertsSeen: 0,
          acknowledged: 0,
          webhookFailures: 0,
          webhookDropped: 0,
          webhookQueue: 0,
        };
        const measured = await ramp({
          kind: 'product',
          imageSize: IMAGE_SIZE,
          metricCount: 0,
          steps,
          warmupMs,
          windowMs,
          notes,
          // Short retries: failures come back sooner, so more of them happen during the run.
          env: { ...variant.env, WEBHOOK_RETRY_BASE_MS: '100' },
          label: variant.label,
          ackLatency: true,
          lossOf: () => Number.NaN,
          companion: acknowledger(figures),
        });
        results.push({ label: variant.label, steps: measured, figures });
      }
    } finally {
      await endpoints.close();
    }
    const tables: ResultTable[] = results.map(({ label, steps: measured }) =>
      stepTable(`Product, ${label}, every loss NaN, every alert acknowledged`, measured),
    );
    const best = results.map(({ steps: measured }) => maxSustained(measured));
    tables.unshift({
      caption:
        'Most trainers sustained (each 60 msg/s, 16 × 2 KB images); ack latency there; alerts and webhook outcomes over the whole ramp',
      columns: [
        'webhooks',
        'trainers',
        'ack p50 ms',
        'ack p99 ms',
        'alerts raised',
        'webhooks failed',
        'webhooks dropped (queue full)',
        'queue at end',
      ],
      rows: results.map(({ label, figures }, index) => [
        label,
        String(best[index]?.trainers ?? 0),
        num(best[index]?.ackP50Ms ?? Number.NaN, 1),
        num(best[index]?.ackP99Ms ?? Number.NaN, 1),
        count(figures.alertsSeen),
        count(figures.webhookFailures),
        count(figures.webhookDropped),
        count(figures.webhookQueue),
      ]),
    });
    const [none, failing] = best;
    const share = ratio(failing?.trainers ?? 0, none?.trainers ?? 0);
    const targets: TargetVerdict[] = [
      {
        target: 'A webhook endpoint that is down does not slow ingest (10 failing against none)',
        measured: `${failing?.trainers ?? 0} vs ${none?.trainers ?? 0} trainers (${times(share)}); ack p99 ${num(failing?.ackP99Ms ?? Number.NaN, 1)} vs ${num(none?.ackP99Ms ?? Number.NaN, 1)} ms`,
        met: quick ? null : share >= 0.9,
      },
    ];
    return {
      method:
        'The ingest ramp (trainers added in steps, 60 batches/s each with 16 noise JPEGs) with every loss NaN; a ' +
        'dashboard watches each session over gRPC-Web and acknowledges every alert as it arrives, so each next ' +
        'batch raises a new alert. Run twice on fresh servers: without webhooks, and with WEBHOOK_URLS naming 10 ' +
        `failing endpoints (${REFUSING} closed ports, ${HANGING} servers that never answer; 5 s timeout, 4 attempts, ` +
        'retries from 100 ms). Sustained as in the ingest benchmark.',
      tables,
      targets,
      notes,
    };
  },
);

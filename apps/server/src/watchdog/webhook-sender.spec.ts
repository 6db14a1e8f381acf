import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { create } from '@bufbuild/protobuf';
import { AlertSchema } from '@trainwatch/proto';
import { waitFor } from '@trainwatch/testing';
import { loadServerConfig } from '../config/server-config';
import { SessionEventBus } from '../events/event-bus';
import { MetricsService } from '../metrics/metrics.service';
import { Session } from '../sessions/session';
import type { WatchdogService } from './watchdog.service';
import { WebhookSender } from './webhook-sender';

/** A local endpoint: `answer` decides what each POST gets (or nothing, to hang). */
async function endpoint(
  answer: (request: IncomingMessage, response: ServerResponse) => void,
): Promise<{ url: string; server: Server; bodies: string[] }> {
  const bodies: string[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      bodies.push(body);
      answer(request, response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hook`, server, bodies };
}

describe('WebhookSender', () => {
  it('an endpoint that hangs delays only its own alerts: another URL gets each at once', async () => {
    const hanging = await endpoint(() => undefined);
    const healthy = await endpoint((_, response) => response.end('ok'));
    const settings = { ...loadServerConfig({}), webhookUrls: [hanging.url, healthy.url] };
    const bus = new SessionEventBus();
    // The sender tells the watchdog of a failure; none is expected within this test.
    const watchdog = { publish: () => undefined } as unknown as WatchdogService;
    const sender = new WebhookSender(settings, bus, new MetricsService(), watchdog);
    const session = new Session('webhook-run', Date.now(), settings);
    try {
      for (let i = 1; i <= 3; i++) {
        const alert = create(AlertSchema, {
          alertId: `alert-${i}`,
          sessionId: session.id,
          message: `alert number ${i}`,
          count: 1,
        });
        void bus.emit('alert.changed', { session, alert });
      }
      // Before the fix one sender posted in order: the healthy URL waited behind the hanging one's
      // 5 s timeout and retries for every alert.
      const started = Date.now();
      await waitFor(() => healthy.bodies.length === 3, {
        timeoutMs: 2000,
        what: 'three alerts at the healthy endpoint',
      });
      expect(Date.now() - started).toBeLessThan(2000);
      expect(healthy.bodies.map((body) => (JSON.parse(body) as { text: string }).text)).toEqual([
        '[trainwatch] webhook-run: alert number 1',
        '[trainwatch] webhook-run: alert number 2',
        '[trainwatch] webhook-run: alert number 3',
      ]);
      // The hanging endpoint got its first alert and holds the rest in its own queue.
      expect(hanging.bodies).toHaveLength(1);
    } finally {
      sender.onModuleDestroy();
      hanging.server.closeAllConnections();
      healthy.server.closeAllConnections();
      await new Promise((resolve) => hanging.server.close(resolve));
      await new Promise((resolve) => healthy.server.close(resolve));
    }
  });
});

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AckSplit } from './ack-split';
import type { Target } from './targets';

/** Prometheus text of the server's ack histogram with these cumulative counts (≤ 1, 5, 30, +Inf). */
const metrics = (counts: number[]) =>
  [1, 5, 30]
    .map((le, i) => `trainwatch_ack_latency_ms_bucket{le="${le}"} ${counts[i]}`)
    .concat(`trainwatch_ack_latency_ms_bucket{le="+Inf"} ${counts.at(-1)}`)
    .join('\n');

function target(httpUrl: string | undefined): Target {
  return {
    kind: 'product',
    pid: process.pid,
    grpcAddress: '127.0.0.1:1',
    httpUrl,
    output: () => '',
    stop: () => Promise.resolve(),
    restart: () => Promise.resolve(),
  };
}

describe('ack split', () => {
  let server: Server;
  let scrapes: string[];
  let url: string;

  beforeEach(async () => {
    scrapes = [metrics([5, 5, 5, 5]), metrics([95, 105, 105, 105])];
    server = createServer((request, response) => {
      if (request.url !== '/metrics') {
        response.writeHead(404).end();
        return;
      }
      response.end(scrapes.shift() ?? '');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(() => new Promise((resolve) => server.close(resolve)));

  it("reads the server's arrival → ack percentiles of the window from its histogram", async () => {
    const split = new AckSplit(target(url));
    await split.start();
    // 100 acks in the window: 90 within 1 ms, 10 in (1, 5].
    const parts = await split.stop();
    expect(parts.serverAckP50Ms).toBeCloseTo(0.5556, 3);
    expect(parts.serverAckP99Ms).toBeCloseTo(4.6, 3);
    expect(parts.benchLoopDelayP99Ms).toBeGreaterThanOrEqual(0);
    expect(scrapes).toHaveLength(0);
  });

  it('has no server part for a target without /metrics', async () => {
    const split = new AckSplit(target(undefined));
    await split.start();
    const parts = await split.stop();
    expect(parts.serverAckP99Ms).toBeNaN();
    expect(Number.isFinite(parts.benchLoopDelayP99Ms)).toBe(true);
  });
});

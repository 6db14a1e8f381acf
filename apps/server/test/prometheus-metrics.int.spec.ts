import { statfsSync } from 'node:fs';
import { TrainingStatus } from '@trainwatch/proto';
import { waitFor } from '@trainwatch/testing';
import {
  grpcDashboard,
  grpcWebDashboard,
  register,
  scalarEvents,
  startTestServer,
  telemetryClient,
  TrainerStreamClient,
  type TestServer,
} from './harness';

/** The value of one sample line (`name{labels} value`) of the exposition, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** /metrics through prom-client, read the way Prometheus reads it, with the store on (SQLite). */
describe('/metrics', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ STORE_ENGINE: 'sqlite' });
  });
  afterAll(() => server.shutdown());

  it('histograms ack latency, store commits and ingest → watcher latency per transport, next to process metrics', async () => {
    const telemetry = telemetryClient(server.grpcAddress);
    const native = grpcDashboard(server.grpcAddress);
    const web = grpcWebDashboard(server.httpUrl);
    const sessionId = 'prometheus';
    await register(telemetry, { sessionId });
    const stream = new TrainerStreamClient(telemetry, sessionId);
    stream.send(1n, { case: 'statusUpdate', value: { status: TrainingStatus.RUNNING } });
    await stream.waitForAck(1n);
    const watches = [native.watch(sessionId), web.watch(sessionId)];
    await waitFor(() => watches.every((watch) => watch.events.length > 0), { what: 'snapshots' });
    const batches = 10;
    for (let index = 0; index < batches; index++) stream.batch(BigInt(index + 2), 0, index);
    await stream.waitForAck(BigInt(batches + 1));
    await waitFor(
      () =>
        watches.every(
          (watch) =>
            scalarEvents(watch).filter((event) => event.event.case === 'batch').length === batches,
        ),
      { what: 'every batch at both watchers' },
    );

    const response = await fetch(`${server.httpUrl}/metrics`);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain;.*version=0\.0\.4/);
    const text = await response.text();
    // Every message acknowledged after its commit: one observation each (the status update too).
    expect(sample(text, 'trainwatch_ack_latency_ms_count')).toBe(batches + 1);
    expect(sample(text, 'trainwatch_ack_latency_ms_bucket{le="+Inf"}')).toBe(batches + 1);
    expect(sample(text, 'trainwatch_store_commit_ms_count')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'trainwatch_store_healthy')).toBe(1);
    expect(sample(text, 'trainwatch_store_commit_failures_total')).toBe(0);
    expect(sample(text, 'trainwatch_store_backlog_held')).toBe(0);
    // The database file (at least its header page) and its WAL.
    expect(sample(text, 'trainwatch_store_database_bytes')).toBeGreaterThan(4096);
    // What statfs says of DATA_DIR's disk, give or take what was written meanwhile.
    const disk = statfsSync(server.settings.dataDir);
    const free = sample(text, 'trainwatch_store_disk_free_bytes');
    expect(free).toBeGreaterThan(0);
    expect(Math.abs((free ?? 0) - disk.bavail * disk.bsize)).toBeLessThan(64 * 1024 * 1024);
    expect(sample(text, 'trainwatch_fan_out_latency_ms_count{transport="grpc"}')).toBe(batches);
    expect(sample(text, 'trainwatch_fan_out_latency_ms_count{transport="grpc-web"}')).toBe(batches);
    // Loopback, an idle server: every batch reached both watchers within a second.
    expect(sample(text, 'trainwatch_fan_out_latency_ms_bucket{le="1000",transport="grpc"}')).toBe(
      batches,
    );
    expect(sample(text, 'trainwatch_messages_in_total')).toBe(batches + 1);
    expect(sample(text, 'trainwatch_nodejs_eventloop_lag_p99_seconds')).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'trainwatch_nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    expect(sample(text, 'trainwatch_process_resident_memory_bytes')).toBeGreaterThan(0);

    for (const watch of watches) watch.cancel();
    stream.end();
    native.close();
    web.close();
    telemetry.close();
  });
});

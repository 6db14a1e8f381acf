import { create } from '@bufbuild/protobuf';
import { WatchSessionResponseSchema } from '@trainwatch/proto';
import { MAX_LABEL_VALUES, MetricsService, OTHER_LABEL_VALUE } from './metrics.service';

describe('MetricsService', () => {
  it('renders gauges, counters and the command latency histogram in Prometheus text format', async () => {
    const metrics = new MetricsService();
    metrics.gauge('sessions', 'Sessions kept in memory.', () => 3);
    metrics.counter('things_dropped_total', 'Things dropped.', () => 4);
    metrics.messagesIn = 5;
    metrics.messagesOut['grpc-web'] = 2;
    metrics.observeCommand('SUCCEEDED', 7);
    metrics.observeCommand('TIMED_OUT', 20_000);
    const text = await metrics.render();
    expect(text).toContain('# TYPE trainwatch_sessions gauge\ntrainwatch_sessions 3\n');
    expect(text).toContain(
      '# TYPE trainwatch_things_dropped_total counter\ntrainwatch_things_dropped_total 4\n',
    );
    expect(text).toContain('trainwatch_messages_in_total 5\n');
    expect(text).toContain('trainwatch_messages_out_total{transport="grpc-web"} 2\n');
    expect(text).toContain('trainwatch_commands_total{state="SUCCEEDED"} 1\n');
    expect(text).toContain('trainwatch_command_latency_ms_bucket{le="5"} 0\n');
    expect(text).toContain('trainwatch_command_latency_ms_bucket{le="10"} 1\n');
    expect(text).toContain('trainwatch_command_latency_ms_bucket{le="10000"} 1\n');
    expect(text).toContain('trainwatch_command_latency_ms_bucket{le="+Inf"} 2\n');
    expect(text).toContain('trainwatch_command_latency_ms_sum 20007\n');
    for (const line of text.split('\n').filter((line) => line !== ''))
      expect(line).toMatch(
        /^(# (HELP|TYPE) trainwatch_\w+ .+|trainwatch_\w+(\{[^}]*\})? (-?\d+(\.\d+)?(e[-+]\d+)?|Nan|NaN))$/,
      );
  });

  it('has histograms for ack, ingest → watcher and store commit latency, and process metrics', async () => {
    const metrics = new MetricsService();
    metrics.observeAck(12);
    metrics.observeStoreCommit(3);
    const batch = (receivedAtMs: number) =>
      create(WatchSessionResponseSchema, {
        event: { case: 'batch', value: { receivedAtMs: BigInt(receivedAtMs) } },
      });
    metrics.countWatchEvent('grpc-web', batch(Date.now() - 40));
    metrics.observeDelivery('grpc', batch(Date.now()));
    // A keepalive is not a batch: it has no arrival time to measure from.
    metrics.observeDelivery('grpc', create(WatchSessionResponseSchema, {}));
    const text = await metrics.render();
    expect(text).toContain('trainwatch_ack_latency_ms_bucket{le="10"} 0\n');
    expect(text).toContain('trainwatch_ack_latency_ms_bucket{le="20"} 1\n');
    expect(text).toContain('trainwatch_store_commit_ms_bucket{le="5"} 1\n');
    expect(text).toContain('trainwatch_store_commit_ms_count 1\n');
    expect(text).toContain(
      'trainwatch_fan_out_latency_ms_bucket{le="25",transport="grpc-web"} 0\n',
    );
    expect(text).toContain('trainwatch_fan_out_latency_ms_count{transport="grpc-web"} 1\n');
    expect(text).toContain('trainwatch_fan_out_latency_ms_count{transport="grpc"} 1\n');
    expect(text).toMatch(/^trainwatch_nodejs_eventloop_lag_p99_seconds \d/m);
    expect(text).toMatch(/^trainwatch_nodejs_heap_size_used_bytes \d/m);
    expect(text).toMatch(/^trainwatch_process_cpu_seconds_total \d/m);
  });

  it(`exposes at most ${MAX_LABEL_VALUES} values of a label, the rest summed under "${OTHER_LABEL_VALUE}"`, async () => {
    const metrics = new MetricsService();
    const counts: Record<string, number> = {};
    for (let key = 0; key < 1000; key++) counts[`key-${key}`] = key === 7 ? 5000 : 1;
    metrics.labelledCounter('refused_total', 'Refused calls by key.', 'key_id', () => counts);
    const lines = (await metrics.render())
      .split('\n')
      .filter((line) => line.startsWith('trainwatch_refused_total{'));
    expect(lines).toHaveLength(MAX_LABEL_VALUES);
    expect(lines).toContain('trainwatch_refused_total{key_id="key-7"} 5000');
    // 999 keys with one refusal each, 98 of them shown on their own.
    expect(lines).toContain(
      `trainwatch_refused_total{key_id="other"} ${999 - (MAX_LABEL_VALUES - 2)}`,
    );
  });
});

import { MetricsService } from './metrics.service';

describe('MetricsService', () => {
  it('renders gauges, counters and the command latency histogram in Prometheus text format', () => {
    const metrics = new MetricsService();
    metrics.gauge('sessions', 'Sessions kept in memory.', () => 3);
    metrics.counter('things_dropped_total', 'Things dropped.', () => 4);
    metrics.messagesIn = 5;
    metrics.messagesOut['grpc-web'] = 2;
    metrics.observeCommand('SUCCEEDED', 7);
    metrics.observeCommand('TIMED_OUT', 20_000);
    const text = metrics.render();
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
    for (const line of text.trim().split('\n'))
      expect(line).toMatch(
        /^(# (HELP|TYPE) trainwatch_\w+ .+|trainwatch_\w+(\{[^}]*\})? -?\d+(\.\d+)?)$/,
      );
  });
});

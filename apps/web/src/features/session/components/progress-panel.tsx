import { globalStep, type PerformanceData, type SessionSummary } from '@trainwatch/proto';
import { formatDuration, formatLoss, formatNumber } from '../../../common/format';
import { useRefreshedText } from '../../../common/use-refreshed-text';

function percent(value: number | undefined): string {
  return value === undefined ? '—' : `${value.toFixed(0)}%`;
}

/** Where the run is and how fast it goes. */
export function ProgressPanel({
  summary,
  performance,
  latencyMs,
}: {
  summary: SessionSummary | undefined;
  performance: PerformanceData | undefined;
  /** Server receipt to display of the latest batch. */
  latencyMs?: number;
}) {
  const config = summary?.config;
  const started = summary !== undefined && summary.batchesReceived > 0n;
  const total = config ? config.totalEpochs * config.batchesPerEpoch : 0;
  const done =
    started && config
      ? Number(globalStep(summary.epoch, summary.batchIdx, config.batchesPerEpoch)) + 1
      : 0;
  const usage = performance?.resourceUsage;
  const progressText = useRefreshedText(
    started && config
      ? `epoch ${summary.epoch + 1} of ${config.totalEpochs}, batch ${summary.batchIdx + 1} of ${config.batchesPerEpoch}`
      : 'waiting for the first batch',
  );
  return (
    <section className="panel stats" data-testid="progress-panel">
      <div className="stat wide">
        <span className="stat-label">Progress</span>
        <progress max={Math.max(total, 1)} value={done} />
        <span data-testid="progress-text">{progressText}</span>
      </div>
      <Stat label="Latest loss" value={formatLoss(summary?.latestLoss)} testId="latest-loss" />
      <Stat
        label="Batches"
        value={summary ? summary.batchesReceived.toString() : '—'}
        testId="batches-received"
      />
      <Stat label="ETA" value={formatDuration(performance?.estimatedTimeRemainingSec)} />
      <Stat label="FPS now" value={formatNumber(performance?.currentFps, 1)} />
      <Stat label="FPS avg" value={formatNumber(performance?.averageFps, 1)} />
      <Stat
        label="Time / batch"
        value={performance ? `${performance.timePerBatchMs.toFixed(1)} ms` : '—'}
      />
      <Stat label="Epoch time" value={formatDuration(performance?.totalTimeForEpochSec)} />
      <Stat
        label="Latency"
        value={latencyMs === undefined ? '—' : `${Math.max(0, latencyMs).toFixed(0)} ms`}
        testId="latency"
      />
      <Stat label="CPU" value={percent(usage?.cpuPercent)} />
      <Stat
        label="GPU"
        value={usage?.gpuPercent === undefined ? 'n/a' : percent(usage.gpuPercent)}
      />
    </section>
  );
}

/** One readout; its value changes on screen at most every READOUT_REFRESH_MS. */
function Stat({ label, value, testId }: { label: string; value: string; testId?: string }) {
  const shown = useRefreshedText(value);
  return (
    <div className="stat">
      <span className="stat-label">{label}</span>
      <span className="stat-value numeric" data-testid={testId}>
        {shown}
      </span>
    </div>
  );
}

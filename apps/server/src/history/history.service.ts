import { Injectable } from '@nestjs/common';
import { LOSS_SERIES, SeriesKind } from '@trainwatch/proto';
import { SessionEventBus } from '../events/event-bus';

/**
 * Keeps every session's series (Session.series) from the bus: per step the
 * loss and BatchData.metrics of each applied batch and ScalarsData values;
 * per epoch EpochData.metrics (x is the epoch); and per epoch the confusion
 * matrix of the batches' predictions (Session.confusion). Ingest validated the names
 * and the series bound before the events were emitted.
 */
@Injectable()
export class HistoryService {
  constructor(bus: SessionEventBus) {
    bus.on('batch.applied', ({ session, batch, step, receivedAtMs }) => {
      const time = Number(batch.timestampMs) || receivedAtMs;
      const series = session.series;
      series.add(LOSS_SERIES, SeriesKind.STEP, step, batch.batchLoss, time);
      const metrics = batch.metrics;
      for (const name in metrics) {
        series.add(name, SeriesKind.STEP, step, metrics[name] as number, time);
      }
      // Every prediction counts into the epoch's confusion matrix; watchers and the store hear of it.
      const increment = session.confusion.count(batch);
      return increment === undefined
        ? undefined
        : bus.emit('confusion.counted', { session, matrix: increment });
    });
    bus.on('scalars.applied', ({ session, scalars, timestampMs }) => {
      const values = scalars.values;
      for (const name in values) {
        session.series.add(
          name,
          SeriesKind.STEP,
          scalars.step,
          values[name] as number,
          timestampMs,
        );
      }
    });
    bus.on('epoch.applied', ({ session, epoch, timestampMs }) => {
      const metrics = epoch.metrics;
      const x = BigInt(epoch.epoch);
      for (const name in metrics) {
        session.series.add(name, SeriesKind.EPOCH, x, metrics[name] as number, timestampMs);
      }
    });
  }
}

import { create } from '@bufbuild/protobuf';
import {
  carrySamplesWire,
  ErrorCode,
  ImageFrameSchema,
  SeriesKind,
  StatusUpdateSchema,
  TrainingStatus,
  type MetricsRequest,
} from '@trainwatch/proto';
import { MAX_STATUS_MESSAGE_LENGTH } from '../common/limits';
import { addClassAccuracy } from '../history/class-accuracy';
import { mergeRunMetadata, runMetadataProblem } from '../sessions/run-metadata';
import type { IngestStep } from './ingest-step';
import { validateMetrics } from './metric-validation';
import {
  validateBatch,
  validateEpoch,
  validatePerformance,
  validateStatus,
  type Rejection,
} from './payload-validation';
import { checkBatchShape, checkEpochShape } from './shape-validation';

/** A MetricsRequest payload case (`batchData`, `scalars`...). */
export type PayloadCase = NonNullable<MetricsRequest['payload']['case']>;
/** The message a payload case carries. */
export type PayloadValue<K extends PayloadCase> = Extract<
  MetricsRequest['payload'],
  { case: K }
>['value'];

/**
 * How ingest handles one payload kind: `validate` decides without changing
 * anything (a rejected message leaves the session as it was), `apply`
 * changes the session's own state, `toEvents` tells the bus what happened
 * (live fan-out, history and metrics listen there).
 */
export interface PayloadKind<K extends PayloadCase> {
  /** False for heartbeats only: not sequenced, not acknowledged, never rejected. */
  acknowledged: boolean;
  validate(value: PayloadValue<K>, step: IngestStep): Rejection | undefined;
  apply(value: PayloadValue<K>, step: IngestStep): void;
  toEvents(value: PayloadValue<K>, step: IngestStep): void;
}

const nothing = (): undefined => undefined;

/**
 * Every payload kind of MetricsRequest. The mapped type makes a new oneof
 * case in the contract a compile error here until it has an entry (and a
 * spec enumerates the descriptor's cases too).
 */
export const PAYLOAD_KINDS: { [K in PayloadCase]: PayloadKind<K> } = {
  batchData: {
    acknowledged: true,
    validate: (batch, { session, services: { settings } }) =>
      checkBatchShape(batch, session.config) ??
      validateBatch(batch, session, settings) ??
      validateMetrics(
        batch.metrics,
        `batch ${batch.batchIdx} of epoch ${batch.epoch}`,
        SeriesKind.STEP,
        session,
        settings,
      ),
    apply: (batch, step) => {
      const { session, services, now } = step;
      if (session.partialHistory && session.historyStartStep === undefined) {
        const start = session.stepOf(batch.epoch, batch.batchIdx);
        session.historyStartStep = start;
        step.hold(
          services.sessions.publishStatus(
            session,
            `this server holds the run from step ${start} on; earlier history is not here`,
            now,
          ),
        );
      }
      session.position = { epoch: batch.epoch, batchIdx: batch.batchIdx };
      session.latestLoss = batch.batchLoss;
      session.batchesReceived += 1n;
    },
    toEvents: (batch, step) => {
      const { session, request, now } = step;
      const globalStep = session.stepOf(batch.epoch, batch.batchIdx);
      step.emit('batch.applied', {
        session,
        batch,
        step: globalStep,
        sequence: request.sequence,
        receivedAtMs: now,
      });
      if (batch.images.length === 0) return;
      const frame = create(ImageFrameSchema, {
        epoch: batch.epoch,
        batchIdx: batch.batchIdx,
        step: globalStep,
        images: batch.images,
        predictions: batch.predictions,
        groundTruth: batch.groundTruth,
        timestampMs: batch.timestampMs,
      });
      // Its samples are the batch's as they are: the store takes their encoded bytes.
      carrySamplesWire(batch, frame);
      step.emit('images.received', { session, frame });
    },
  },
  epochData: {
    acknowledged: true,
    validate: (epoch, { session, services: { settings } }) =>
      checkEpochShape(epoch, session.config) ??
      validateEpoch(epoch, session) ??
      validateMetrics(epoch.metrics, `epoch ${epoch.epoch}`, SeriesKind.EPOCH, session, settings),
    // The epoch's per-class accuracy joins its metrics before anyone sees the epoch, so it
    // is stored, kept and sent as epoch series like the trainer's own values.
    apply: (epoch, { session, services: { settings } }) => {
      addClassAccuracy(epoch, session, settings);
      session.addEpoch(epoch);
    },
    toEvents: (epoch, step) =>
      step.emit('epoch.applied', {
        session: step.session,
        epoch,
        timestampMs: timeOf(step),
      }),
  },
  scalars: {
    acknowledged: true,
    validate: (scalars, { session, services: { settings } }) =>
      validateMetrics(
        scalars.values,
        `scalars at step ${scalars.step}`,
        SeriesKind.STEP,
        session,
        settings,
      ),
    // The values are series points: history keeps them, listening to the event.
    apply: nothing,
    toEvents: (scalars, step) =>
      step.emit('scalars.applied', {
        session: step.session,
        scalars,
        timestampMs: Number(scalars.timestampMs) || timeOf(step),
      }),
  },
  runMetadata: {
    acknowledged: true,
    validate: (metadata, { session }) => {
      const problem = runMetadataProblem(metadata, session.metadata);
      return problem === undefined
        ? undefined
        : { code: ErrorCode.INVALID_ARGUMENT, message: `run_metadata: ${problem}` };
    },
    apply: (metadata, { session }) => {
      session.metadata = mergeRunMetadata(session.metadata, metadata);
    },
    toEvents: (_metadata, step) => {
      const { session } = step;
      if (session.metadata !== undefined) {
        step.emit('metadata.changed', { session, metadata: session.metadata });
      }
    },
  },
  performanceData: {
    acknowledged: true,
    validate: (performance) => validatePerformance(performance),
    apply: (performance, { session }) => {
      session.latestPerformance = performance;
    },
    toEvents: (performance, step) =>
      step.emit('performance.applied', { session: step.session, performance }),
  },
  statusUpdate: {
    acknowledged: true,
    validate: (update, { session }) => validateStatus(update, session),
    apply: (update, step) => {
      if (update.config !== undefined) step.session.config = update.config;
      changeStatus(step, update.status, update.message, update.config !== undefined);
    },
    // The status event is the change itself: changeStatus emits it.
    toEvents: nothing,
  },
  commandResult: {
    acknowledged: true,
    validate: (result, { session, services: { commands } }) =>
      commands.accepts(session, result)
        ? undefined
        : {
            code: ErrorCode.UNKNOWN_COMMAND,
            message: `command ${JSON.stringify(result.commandId)} was not issued to session ${session.id} or already has a result`,
          },
    apply: (result, step) => {
      const { session, services } = step;
      if (!services.commands.complete(session, result)) {
        services.commands.confirmSettledByStatus(session, result);
      }
      // The result carries the trainer's status after the command: it is a status report too.
      const reported = create(StatusUpdateSchema, { status: result.status });
      if (
        result.status !== TrainingStatus.UNKNOWN &&
        result.status !== session.status &&
        validateStatus(reported, session) === undefined
      ) {
        changeStatus(step, result.status, result.message, false);
      }
    },
    toEvents: nothing,
  },
  heartbeat: {
    acknowledged: false,
    validate: nothing,
    apply: nothing,
    toEvents: (_heartbeat, step) => step.emit('heartbeat.received', { session: step.session }),
  },
};

/** When the message's values were taken: the trainer's time, else arrival. */
function timeOf(step: IngestStep): number {
  return Number(step.request.timestampMs) || step.now;
}

/**
 * Sets the session's status, tells watchers, and completes pending
 * commands whose target state the trainer reached (a trainer that never
 * answers commands still ends them by reporting the state).
 */
function changeStatus(
  step: IngestStep,
  status: TrainingStatus,
  message: string,
  withConfig: boolean,
): void {
  const { session, services, now } = step;
  const changed = session.status !== status;
  session.status = status;
  session.statusMessage = message.slice(0, MAX_STATUS_MESSAGE_LENGTH);
  step.hold(services.sessions.publishStatus(session, session.statusMessage, now, withConfig));
  if (changed) services.commands.completeByStatus(session, status);
}

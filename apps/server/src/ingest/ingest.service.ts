import { create } from '@bufbuild/protobuf';
import { Inject, Injectable } from '@nestjs/common';
import {
  BatchEventSchema,
  ErrorCode,
  ImageFrameSchema,
  MetricsResponseSchema,
  SessionResponseSchema,
  StatusUpdateSchema,
  TrainingStatus,
  type MetricsRequest,
  type MetricsResponse,
  type SessionInfo,
  type SessionResponse,
} from '@trainwatch/proto';
import type { AppError } from '../common/app-error';
import { MAX_STATUS_MESSAGE_LENGTH } from '../common/limits';
import { CommandsService } from '../commands/commands.service';
import { SERVER_SETTINGS } from '../config/config.module';
import type { ServerSettings } from '../config/server-config';
import { FanOutService } from '../fan-out/fan-out.service';
import { MetricsService } from '../metrics/metrics.service';
import type { Session } from '../sessions/session';
import { SessionsService, type WriterClaim } from '../sessions/sessions.service';
import type { TrainerLink } from '../sessions/trainer-link';
import {
  validateBatch,
  validateEpoch,
  validatePerformance,
  validateStatus,
  type Rejection,
} from './payload-validation';
import { checkSequenceJump } from './sequence-window';
import { checkBatchShape, checkEpochShape } from './shape-validation';

type Payload = MetricsRequest['payload'];

/**
 * Applies trainer messages to sessions: registration, sequence dedupe,
 * validation, history updates and publication to watchers. Transport-free:
 * the gRPC stream adapter (TrainerStream) feeds it and writes what it returns.
 */
@Injectable()
export class IngestService {
  /** Every open trainer stream, attached or not, so shutdown can tell each one. */
  readonly openStreams = new Set<TrainerLink>();

  constructor(
    @Inject(SERVER_SETTINGS) private readonly settings: ServerSettings,
    private readonly sessions: SessionsService,
    private readonly fanOut: FanOutService,
    private readonly commands: CommandsService,
    private readonly metrics: MetricsService,
  ) {}

  /**
   * RegisterTrainingSession: creates or re-attaches a session and answers
   * with the limits and the session's resume token. `peer` is the caller's
   * address, recorded when the registration is refused.
   */
  register(info: SessionInfo, peer = ''): SessionResponse {
    const { session, resumed } = this.sessions.register(info, Date.now(), { peer });
    const settings = this.settings;
    let message = resumed ? `resumed session ${session.id}` : `created session ${session.id}`;
    if (!resumed && session.partialHistory) {
      message += `, continuing after sequence ${session.lastSequence}: this server does not hold the run before it`;
    }
    return create(SessionResponseSchema, {
      success: true,
      sessionId: session.id,
      message,
      resumed,
      lastSequence: session.lastSequence,
      resumeToken: session.resumeToken,
      serverConfig: {
        maxBatchSize: settings.maxImagesPerBatch,
        maxImageDimension: settings.maxImageDimension,
        heartbeatIntervalMs: settings.heartbeatIntervalMs,
        bufferSize: settings.trainerBufferSize,
        maxMessageBytes: settings.maxMessageBytes,
      },
    });
  }

  /** Ends every open trainer stream with `error` (shutdown). */
  closeAll(error: AppError): void {
    for (const stream of [...this.openStreams]) stream.close(error);
  }

  /**
   * Binds a new stream to the session its first message names: NOT_FOUND
   * for an unknown session, ALREADY_EXISTS when another trainer's stream is
   * open on it and `claim` lacks the session's resume token.
   */
  attach(sessionId: string, link: TrainerLink, claim: WriterClaim = {}): Session {
    const session = this.sessions.get(sessionId);
    this.sessions.attachTrainer(session, link, claim);
    return session;
  }

  detach(session: Session, link: TrainerLink): void {
    this.sessions.detachTrainer(session, link);
  }

  /** Applies one message; returns the responses to send back (ack and/or error). */
  apply(session: Session, request: MetricsRequest, now = Date.now()): MetricsResponse[] {
    this.metrics.messagesIn += 1;
    this.sessions.touch(session, now);
    const payload = request.payload;
    if (request.sessionId !== session.id) {
      return this.rejected(session, request, {
        code: ErrorCode.UNKNOWN_SESSION,
        message: `message names session ${JSON.stringify(request.sessionId)} but this stream belongs to ${session.id}`,
      });
    }
    if (payload.case === 'heartbeat') {
      this.metrics.heartbeats += 1;
      return [];
    }
    if (payload.case === undefined) {
      return this.rejected(session, request, {
        code: ErrorCode.INVALID_ARGUMENT,
        message: 'message has no payload',
      });
    }
    const batchIdx = payload.case === 'batchData' ? payload.value.batchIdx : 0;
    if (request.sequence === 0n) {
      // No replay protection: applied as it comes, acknowledged by batch_idx alone.
      const rejection = this.applyPayload(session, payload, request, now);
      if (rejection !== undefined) return this.rejected(session, request, rejection);
      return [this.ack(session, 0n, batchIdx, true, false)];
    }
    if (request.sequence <= session.lastSequence) {
      this.metrics.duplicateMessages += 1;
      return [this.ack(session, request.sequence, batchIdx, true, true)];
    }
    // An implausible jump is refused before anything changes, lastSequence included.
    const gap = checkSequenceJump(session, request.sequence, this.settings.trainerBufferSize, now);
    if (gap !== undefined) return this.rejected(session, request, gap);
    if (session.lastSequencedAtMs === undefined && request.sequence > session.lastSequence + 1n) {
      // The first message this server sees is not the run's next one: what came before is not here.
      session.partialHistory = true;
    }
    const rejection = this.applyPayload(session, payload, request, now);
    // A payload rejection still consumes its sequence: a run of rejected messages must not carry
    // the next good one past the jump bound, and a replay of one is answered as a duplicate.
    session.lastSequence = request.sequence;
    session.lastSequencedAtMs = now;
    if (rejection !== undefined) return this.rejected(session, request, rejection);
    return [this.ack(session, request.sequence, batchIdx, true, false)];
  }

  private applyPayload(
    session: Session,
    payload: Exclude<Payload, { case: 'heartbeat' | undefined }>,
    request: MetricsRequest,
    now: number,
  ): Rejection | undefined {
    switch (payload.case) {
      case 'batchData': {
        const batch = payload.value;
        const rejection =
          checkBatchShape(batch, session.config) ?? validateBatch(batch, session, this.settings);
        if (rejection) return rejection;
        const step = session.stepOf(batch.epoch, batch.batchIdx);
        if (session.partialHistory && session.historyStartStep === undefined) {
          session.historyStartStep = step;
          this.sessions.publishStatus(
            session,
            `this server holds the run from step ${step} on; earlier history is not here`,
            now,
          );
        }
        session.position = { epoch: batch.epoch, batchIdx: batch.batchIdx };
        session.latestLoss = batch.batchLoss;
        session.batchesReceived += 1n;
        session.lossHistory.add(step, batch.batchLoss);
        this.fanOut.publishScalar(session, {
          case: 'batch',
          value: create(BatchEventSchema, {
            epoch: batch.epoch,
            batchIdx: batch.batchIdx,
            step,
            batchLoss: batch.batchLoss,
            batchSize: batch.batchSize,
            timestampMs: batch.timestampMs,
            trainerSequence: request.sequence,
            receivedAtMs: BigInt(now),
          }),
        });
        if (batch.images.length > 0) {
          const frame = create(ImageFrameSchema, {
            epoch: batch.epoch,
            batchIdx: batch.batchIdx,
            step,
            images: batch.images,
            predictions: batch.predictions,
            groundTruth: batch.groundTruth,
            timestampMs: batch.timestampMs,
          });
          session.latestImages = frame;
          this.fanOut.publishImages(session, frame);
        }
        return undefined;
      }
      case 'epochData': {
        const rejection =
          checkEpochShape(payload.value, session.config) ?? validateEpoch(payload.value, session);
        if (rejection) return rejection;
        session.addEpoch(payload.value);
        this.fanOut.publishScalar(session, { case: 'epoch', value: payload.value });
        return undefined;
      }
      case 'performanceData': {
        const rejection = validatePerformance(payload.value);
        if (rejection) return rejection;
        session.latestPerformance = payload.value;
        this.fanOut.publishScalar(session, { case: 'performance', value: payload.value });
        return undefined;
      }
      case 'statusUpdate': {
        const update = payload.value;
        const rejection = validateStatus(update, session);
        if (rejection) return rejection;
        if (update.config !== undefined) session.config = update.config;
        this.changeStatus(session, update.status, update.message, now, update.config !== undefined);
        return undefined;
      }
      case 'commandResult': {
        const result = payload.value;
        const known =
          this.commands.complete(session, result) ||
          this.commands.confirmSettledByStatus(session, result);
        if (!known) {
          return {
            code: ErrorCode.UNKNOWN_COMMAND,
            message: `command ${JSON.stringify(result.commandId)} was not issued to session ${session.id} or already has a result`,
          };
        }
        // The result carries the trainer's status after the command: it is a status report too.
        const reported = create(StatusUpdateSchema, { status: result.status });
        if (
          result.status !== TrainingStatus.UNKNOWN &&
          result.status !== session.status &&
          validateStatus(reported, session) === undefined
        ) {
          this.changeStatus(session, result.status, result.message, now, false);
        }
        return undefined;
      }
    }
  }

  /**
   * Sets the session's status, tells watchers, and completes pending
   * commands whose target state the trainer reached (a trainer that never
   * answers commands still ends them by reporting the state).
   */
  private changeStatus(
    session: Session,
    status: TrainingStatus,
    message: string,
    now: number,
    withConfig: boolean,
  ): void {
    const changed = session.status !== status;
    session.status = status;
    session.statusMessage = message.slice(0, MAX_STATUS_MESSAGE_LENGTH);
    this.sessions.publishStatus(session, session.statusMessage, now, withConfig);
    if (changed) this.commands.completeByStatus(session, status);
  }

  private ack(
    session: Session,
    sequence: bigint,
    batchIdx: number,
    success: boolean,
    duplicate: boolean,
  ): MetricsResponse {
    return create(MetricsResponseSchema, {
      sessionId: session.id,
      timestampMs: BigInt(Date.now()),
      payload: { case: 'ack', value: { sequence, batchIdx, success, duplicate } },
    });
  }

  /** An ErrorResponse naming the message (and batch), plus a failed ack (sequence 0 when it had none). */
  private rejected(
    session: Session,
    request: MetricsRequest,
    rejection: Rejection,
  ): MetricsResponse[] {
    this.metrics.rejectedMessages += 1;
    const batch = request.payload.case === 'batchData' ? request.payload.value : undefined;
    const error = create(MetricsResponseSchema, {
      sessionId: session.id,
      timestampMs: BigInt(Date.now()),
      payload: {
        case: 'error',
        value: {
          message: rejection.message,
          code: rejection.code,
          sequence: request.sequence,
          epoch: batch?.epoch ?? 0,
          batchIdx: batch?.batchIdx ?? 0,
        },
      },
    });
    return [error, this.ack(session, request.sequence, batch?.batchIdx ?? 0, false, false)];
  }
}

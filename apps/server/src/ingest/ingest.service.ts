import { create } from '@bufbuild/protobuf';
import { Inject, Injectable, Optional } from '@nestjs/common';
import {
  ErrorCode,
  MetricsResponseSchema,
  SessionResponseSchema,
  type MetricsRequest,
  type MetricsResponse,
  type SessionInfo,
  type SessionResponse,
} from '@trainwatch/proto';
import type { AppError } from '../common/app-error';
import { CommandsService } from '../commands/commands.service';
import { SERVER_SETTINGS } from '../config/config.module';
import type { ServerSettings } from '../config/server-config';
import { SessionEventBus } from '../events/event-bus';
import { MetricsService } from '../metrics/metrics.service';
import { RunsService } from '../runs/runs.service';
import type { Session } from '../sessions/session';
import { SessionsService, type WriterClaim } from '../sessions/sessions.service';
import type { TrainerLink } from '../sessions/trainer-link';
import { IngestStep } from './ingest-step';
import {
  PAYLOAD_KINDS,
  type PayloadCase,
  type PayloadKind,
  type PayloadValue,
} from './payload-kinds';
import { validateTimes, type Rejection } from './payload-validation';
import { checkSequenceJump } from './sequence-window';

/**
 * What applying one message answers: the responses at once, or (once a
 * listener of its events is asynchronous, e.g. a store that acknowledges
 * only what it committed) a promise of them. TrainerStream sends either in order.
 */
export type Responses = MetricsResponse[] | Promise<MetricsResponse[]>;

const NO_RESPONSES: MetricsResponse[] = [];

/**
 * Applies trainer messages to sessions: registration, sequence dedupe, then
 * the payload kind's validate, apply and toEvents (ingest/payload-kinds.ts).
 * What happens next (watchers, history, metrics) listens on the session
 * event bus. Transport-free: the gRPC stream adapter (TrainerStream) feeds
 * it and writes what it returns.
 */
@Injectable()
export class IngestService {
  /** Every open trainer stream, attached or not, so shutdown can tell each one. */
  readonly openStreams = new Set<TrainerLink>();
  private readonly step: IngestStep;

  constructor(
    @Inject(SERVER_SETTINGS) private readonly settings: ServerSettings,
    private readonly sessions: SessionsService,
    commands: CommandsService,
    private readonly metrics: MetricsService,
    bus: SessionEventBus,
    @Optional() private readonly runs?: RunsService,
  ) {
    this.step = new IngestStep({ settings, sessions, commands, bus });
  }

  /**
   * RegisterTrainingSession: creates or re-attaches a session and answers
   * with the limits and the session's resume token. `peer` is the caller's
   * address, recorded when the registration is refused.
   */
  register(info: SessionInfo, peer = '', keyId?: string): SessionResponse {
    const { session, resumed } = this.sessions.register(info, Date.now(), { peer, keyId });
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
        maxSeries: settings.maxSeriesPerSession,
        maxMetricsPerMessage: settings.maxMetricsPerMessage,
      },
    });
  }

  /**
   * Restores a run this server knows only from the store (it restarted)
   * before its trainer registers or streams again, so the run resumes as it
   * was: same history, same last sequence, nothing doubled. Undefined when
   * there is nothing to wait for.
   */
  restore(sessionId: string): Promise<void> | undefined {
    return this.runs?.restore(sessionId);
  }

  /** RegisterTrainingSession, after restoring a stored run of that id. */
  registerRestoring(
    info: SessionInfo,
    peer = '',
    keyId?: string,
  ): SessionResponse | Promise<SessionResponse> {
    const restoring = this.restore(info.sessionId);
    return restoring === undefined
      ? this.register(info, peer, keyId)
      : restoring.then(() => this.register(info, peer, keyId));
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

  /** A message's responses were sent: records its ack latency (`receivedAt` from performance.now()). */
  acknowledged(receivedAt: number): void {
    this.metrics.observeAck(performance.now() - receivedAt);
  }

  /** Applies one message; returns the responses to send back (ack and/or error). */
  apply(session: Session, request: MetricsRequest, now = Date.now()): Responses {
    this.metrics.messagesIn += 1;
    this.sessions.touch(session, now);
    const payload = request.payload;
    if (request.sessionId !== session.id) {
      return this.rejected(session, request, {
        code: ErrorCode.UNKNOWN_SESSION,
        message: `message names session ${JSON.stringify(request.sessionId)} but this stream belongs to ${session.id}`,
      });
    }
    if (payload.case === undefined) {
      return this.rejected(session, request, {
        code: ErrorCode.INVALID_ARGUMENT,
        message: 'message has no payload',
      });
    }
    const kind = PAYLOAD_KINDS[payload.case] as PayloadKind<PayloadCase>;
    const value = payload.value as PayloadValue<PayloadCase>;
    const step = this.step.reset(session, request, now);
    if (!kind.acknowledged) {
      kind.apply(value, step);
      kind.toEvents(value, step);
      return this.settled(step, NO_RESPONSES);
    }
    const batchIdx = payload.case === 'batchData' ? payload.value.batchIdx : 0;
    if (request.sequence === 0n) {
      // No replay protection: applied as it comes, acknowledged by batch_idx alone.
      const rejection = this.applyPayload(kind, value, step);
      if (rejection !== undefined) return this.rejected(session, request, rejection);
      return this.settled(step, [this.ack(session, 0n, batchIdx, true, false)]);
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
    const rejection = this.applyPayload(kind, value, step);
    // A payload rejection still consumes its sequence: a run of rejected messages must not carry
    // the next good one past the jump bound, and a replay of one is answered as a duplicate.
    session.lastSequence = request.sequence;
    session.lastSequencedAtMs = now;
    if (rejection !== undefined) return this.rejected(session, request, rejection);
    return this.settled(step, [this.ack(session, request.sequence, batchIdx, true, false)]);
  }

  /** Validates, then (only when valid) applies and announces; a rejection changes nothing. */
  private applyPayload(
    kind: PayloadKind<PayloadCase>,
    value: PayloadValue<PayloadCase>,
    step: IngestStep,
  ): Rejection | undefined {
    const rejection = validateTimes(step.request) ?? kind.validate(value, step);
    if (rejection !== undefined) return rejection;
    kind.apply(value, step);
    kind.toEvents(value, step);
    return undefined;
  }

  /**
   * The responses, once every asynchronous listener of the message's events
   * has finished: the seam where a store's commit holds the ack. Today's
   * listeners are synchronous, so this returns the array itself.
   */
  private settled(step: IngestStep, responses: MetricsResponse[]): Responses {
    const pending = step.pending;
    if (pending === undefined) return responses;
    if (pending.length === 1) return (pending[0] as Promise<void>).then(() => responses);
    return Promise.all(pending).then(() => responses);
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

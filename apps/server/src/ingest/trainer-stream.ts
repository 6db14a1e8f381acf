import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { MetricsRequest, MetricsResponse } from '@trainwatch/proto';
import { errors, toGrpcStatus, type AppError } from '../common/app-error';
import { asAppError } from '../common/app-exception.filter';
import { MAX_MESSAGES_AWAITING_COMMIT, TRAINER_RESPONSE_SLACK } from '../common/limits';
import type { CommitBacklog } from '../events/commit-backlog';
import { trackCall } from '../common/open-calls';
import { RESUME_TOKEN_METADATA } from '../sessions/resume-token';
import { keyIdOf } from '../auth/grpc-auth';
import type { Session } from '../sessions/session';
import type { TrainerLink } from '../sessions/trainer-link';
import type { IngestService, Responses } from './ingest.service';

/**
 * One StreamMetrics call on the raw grpc-js duplex. Reads stop while the
 * trainer is not reading our responses (write() returned false), while
 * MAX_MESSAGES_AWAITING_COMMIT of its messages wait for the store's commit,
 * and while the store's backlog is held (CommitBacklog); that pushes back
 * on the trainer through HTTP/2 flow control. If responses still pile up
 * past the bound, the stream is closed with RESOURCE_EXHAUSTED.
 */
export class TrainerStream implements TrainerLink {
  private session: Session | undefined;
  private closed = false;
  private readonly maxQueuedResponses: number;
  /** Responses still waiting for an asynchronous listener; later ones queue behind them, in order. */
  private tail: Promise<void> | undefined;
  /** Set while the first message's run is restored from the store: what arrived meanwhile. */
  private restoring: MetricsRequest[] | undefined;
  private restoreTried = false;
  /** Messages applied whose responses wait for a commit. */
  private awaitingCommit = 0;
  /** The trainer is not reading: the last write() returned false and no 'drain' came yet. */
  private writeBlocked = false;
  private paused = false;
  private stopWatchingBacklog: (() => void) | undefined;

  constructor(
    private readonly call: ServerDuplexStream<MetricsRequest, MetricsResponse>,
    private readonly ingest: IngestService,
    trainerBufferSize: number,
    private readonly backlog?: CommitBacklog,
    /** Checks each message against its key's rate limits; an error ends the stream. */
    private readonly admit?: (request: MetricsRequest) => AppError | undefined,
  ) {
    this.maxQueuedResponses = trainerBufferSize + TRAINER_RESPONSE_SLACK;
  }

  start(): void {
    this.ingest.openStreams.add(this);
    trackCall(this.call);
    this.call.on('data', (request: MetricsRequest) => this.onMessage(request));
    this.call.on('end', () => this.finish(true));
    // Errors (client cancel, over-size message answered by grpc-js) end the call; nothing to send back.
    this.call.on('error', () => this.finish(false));
    this.call.on('cancelled', () => this.finish(false));
    this.call.on('drain', () => {
      this.writeBlocked = false;
      this.updateReading();
    });
    this.stopWatchingBacklog = this.backlog?.onRelease(() => this.updateReading());
  }

  send(response: MetricsResponse): void {
    if (this.closed) return;
    if (this.call.writableLength >= this.maxQueuedResponses) {
      this.close(
        errors.resourceExhausted(
          `trainer is not reading responses: ${this.maxQueuedResponses} queued`,
        ),
      );
      return;
    }
    if (!this.call.write(response)) {
      this.writeBlocked = true;
      this.updateReading();
    }
  }

  /** Reads while the trainer reads its responses and the store keeps up; else pauses. */
  private updateReading(): void {
    if (this.closed) return;
    const pause =
      this.writeBlocked ||
      this.awaitingCommit >= MAX_MESSAGES_AWAITING_COMMIT ||
      this.backlog?.isHeld === true;
    if (pause === this.paused) return;
    this.paused = pause;
    if (pause) this.call.pause();
    else this.call.resume();
  }

  /** True once the stream ended, however it ended. */
  get isClosed(): boolean {
    return this.closed;
  }

  close(error?: AppError): void {
    if (this.closed) return;
    this.closed = true;
    this.stopWatchingBacklog?.();
    this.ingest.openStreams.delete(this);
    if (this.session) this.ingest.detach(this.session, this);
    if (error === undefined) this.call.end();
    else this.call.emit('error', toGrpcStatus(error));
  }

  private onMessage(request: MetricsRequest): void {
    if (this.closed) return;
    if (this.restoring !== undefined) {
      // Held messages meet the limits when they are replayed, once the run is restored.
      this.holdWhileRestoring(request);
      return;
    }
    const refused = this.admit?.(request);
    if (refused !== undefined) {
      this.close(refused);
      return;
    }
    try {
      if (this.session === undefined) {
        // A run this server knows only from the store is restored before the stream attaches (once:
        // a run the store does not have either is then NOT_FOUND).
        const restoring = this.restoreTried ? undefined : this.ingest.restore(request.sessionId);
        this.restoreTried = true;
        if (restoring !== undefined) {
          this.restoring = [request];
          restoring.then(
            () => this.restored(),
            (error: unknown) => this.fail(error),
          );
          return;
        }
        this.session = this.attach(request.sessionId);
      }
      const receivedAt = performance.now();
      this.deliver(this.ingest.apply(this.session, request), receivedAt);
    } catch (error) {
      this.fail(error);
    }
  }

  /** Messages that arrived while the stream's run was being restored, in order; bounded like responses. */
  private holdWhileRestoring(request: MetricsRequest): void {
    const held = this.restoring as MetricsRequest[];
    if (held.length >= this.maxQueuedResponses) {
      this.close(
        errors.resourceExhausted(
          `${held.length} messages arrived while the run was read back from the store; at most ${this.maxQueuedResponses}`,
        ),
      );
      return;
    }
    held.push(request);
  }

  /** The run is in memory now: the held messages go through in order. */
  private restored(): void {
    const held = this.restoring ?? [];
    this.restoring = undefined;
    for (const request of held) this.onMessage(request);
  }

  /** Sends a message's responses, after those of every earlier message (`receivedAt`: performance.now() on arrival). */
  private deliver(responses: Responses, receivedAt: number): void {
    if (this.tail === undefined && Array.isArray(responses)) {
      for (const response of responses) this.send(response);
      this.ingest.acknowledged(receivedAt);
      return;
    }
    this.awaitingCommit += 1;
    this.updateReading();
    const tail = (this.tail ?? Promise.resolve())
      .then(() => responses)
      .then(
        (list) => {
          this.awaitingCommit -= 1;
          for (const response of list) this.send(response);
          this.ingest.acknowledged(receivedAt);
          this.updateReading();
        },
        (error: unknown) => {
          this.awaitingCommit -= 1;
          this.fail(error);
        },
      );
    this.tail = tail;
    void tail.then(() => {
      if (this.tail === tail) this.tail = undefined;
    });
  }

  /** Ends the stream with the error's status; an error that is not an AppError is logged once, as INTERNAL. */
  private fail(error: unknown): void {
    this.close(asAppError(error, 'StreamMetrics'));
  }

  /** Claims the session with the resume token the trainer sent as call metadata, if any. */
  private attach(sessionId: string): Session {
    const token = this.call.metadata.get(RESUME_TOKEN_METADATA)[0];
    return this.ingest.attach(sessionId, this, {
      resumeToken: typeof token === 'string' ? token : undefined,
      peer: this.call.getPeer(),
      keyId: keyIdOf(this.call),
    });
  }

  /** The trainer finished sending (or the call broke): the session is disconnected unless it ended. */
  private finish(halfClosed: boolean): void {
    if (this.closed) return;
    this.closed = true;
    this.stopWatchingBacklog?.();
    this.ingest.openStreams.delete(this);
    if (this.session) this.ingest.detach(this.session, this);
    if (halfClosed) this.call.end();
  }
}

import { randomUUID } from 'node:crypto';
import {
  Inject,
  Injectable,
  Logger,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { create } from '@bufbuild/protobuf';
import { ConnectionState, StatusEventSchema, type SessionInfo } from '@trainwatch/proto';
import { errors } from '../common/app-error';
import { SERVER_SETTINGS } from '../config/config.module';
import type { ServerSettings } from '../config/server-config';
import { FanOutService } from '../fan-out/fan-out.service';
import { MetricsService } from '../metrics/metrics.service';
import { Session } from './session';
import { validateSessionInfo } from './session-validation';
import type { TrainerLink } from './trainer-link';

/** Outcome of a registration. */
export interface Registration {
  session: Session;
  resumed: boolean;
}

/**
 * The registry of sessions (at most `maxSessions`) and their connection
 * state: CONNECTED while a stream is open and messages arrive, STALE when
 * heartbeats are missed, DISCONNECTED when the stream ended without a final
 * status. Every change is pushed to watchers as a StatusEvent.
 */
@Injectable()
export class SessionsService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(SessionsService.name);
  private readonly sessions = new Map<string, Session>();
  private staleTimer: NodeJS.Timeout | undefined;

  constructor(
    @Inject(SERVER_SETTINGS) private readonly settings: ServerSettings,
    private readonly fanOut: FanOutService,
    metrics: MetricsService,
  ) {
    metrics.gauge('sessions', 'Sessions kept in memory.', () => this.sessions.size);
    metrics.gauge(
      'sessions_connected',
      'Sessions whose trainer stream is open.',
      () => [...this.sessions.values()].filter((session) => session.trainer !== undefined).length,
    );
  }

  onModuleInit(): void {
    // Checking twice per heartbeat interval marks a session stale at most half an interval late.
    this.staleTimer = setInterval(
      () => this.markStale(),
      Math.max(25, this.settings.heartbeatIntervalMs / 2),
    );
    this.staleTimer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.staleTimer);
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Creates a session, or re-attaches the one with the same id. */
  register(info: SessionInfo, now = Date.now()): Registration {
    validateSessionInfo(info);
    const id = info.sessionId === '' ? randomUUID() : info.sessionId;
    let session = this.sessions.get(id);
    const resumed = session !== undefined;
    if (session === undefined) {
      this.makeRoom();
      session = new Session(id, now, this.settings);
      this.sessions.set(id, session);
    }
    session.clientName = info.clientName;
    session.clientVersion = info.clientVersion;
    session.config = info.config;
    this.touch(session, now);
    if (resumed) {
      this.setConnection(
        session,
        ConnectionState.CONNECTED,
        `re-registered by ${info.clientName || 'a trainer'}`,
        now,
      );
    }
    return { session, resumed };
  }

  /** The session with this id; NOT_FOUND otherwise. */
  get(sessionId: string): Session {
    const session = this.sessions.get(sessionId);
    if (session === undefined)
      throw errors.notFound(`session ${JSON.stringify(sessionId)} is not known to this server`);
    return session;
  }

  find(sessionId: string): Session | undefined {
    return this.sessions.get(sessionId);
  }

  /** Every session, newest first. */
  list(): Session[] {
    // Reversed insertion order first, so sessions created in the same millisecond stay newest first.
    return [...this.sessions.values()].reverse().sort((a, b) => b.createdAtMs - a.createdAtMs);
  }

  /** Makes `link` the session's trainer stream, closing a previous one cleanly. */
  attachTrainer(session: Session, link: TrainerLink, now = Date.now()): void {
    const previous = session.trainer;
    session.trainer = link;
    previous?.close();
    this.touch(session, now);
    this.setConnection(session, ConnectionState.CONNECTED, 'trainer stream open', now);
  }

  /** Called when a trainer stream ends; a no-op for a stream that was already replaced. */
  detachTrainer(session: Session, link: TrainerLink, now = Date.now()): void {
    if (session.trainer !== link) return;
    session.trainer = undefined;
    if (session.finished) {
      this.setConnection(
        session,
        ConnectionState.UNSPECIFIED,
        'trainer stream closed after the run ended',
        now,
      );
    } else {
      this.setConnection(
        session,
        ConnectionState.DISCONNECTED,
        'trainer stream ended without a final status',
        now,
      );
    }
  }

  /** Records that something arrived for the session; a stale session becomes connected again. */
  touch(session: Session, now = Date.now()): void {
    session.lastSeenMs = now;
    session.lastUpdateMs = now;
    if (session.connection === ConnectionState.STALE && session.trainer !== undefined) {
      this.setConnection(session, ConnectionState.CONNECTED, 'heartbeats resumed', now);
    }
  }

  /** Sets the connection state and tells watchers, if it changed. */
  setConnection(
    session: Session,
    connection: ConnectionState,
    message: string,
    now = Date.now(),
  ): void {
    if (session.connection === connection) return;
    session.connection = connection;
    this.publishStatus(session, message, now);
  }

  /** Pushes the session's current status and connection to watchers. */
  publishStatus(session: Session, message: string, now = Date.now(), withConfig = false): void {
    this.fanOut.publishScalar(session, {
      case: 'status',
      value: create(StatusEventSchema, {
        status: session.status,
        message,
        connection: session.connection,
        timestampMs: BigInt(now),
        config: withConfig ? session.config : undefined,
      }),
    });
  }

  /** Marks sessions stale (open stream, silent) or disconnected (no stream, silent). */
  markStale(now = Date.now()): void {
    const silentAfter =
      this.settings.staleAfterMissedHeartbeats * this.settings.heartbeatIntervalMs;
    for (const session of this.sessions.values()) {
      if (
        now - session.lastSeenMs <= silentAfter ||
        session.connection !== ConnectionState.CONNECTED
      )
        continue;
      if (session.trainer !== undefined) {
        this.setConnection(
          session,
          ConnectionState.STALE,
          `no heartbeat for ${now - session.lastSeenMs} ms`,
          now,
        );
      } else {
        this.setConnection(
          session,
          ConnectionState.DISCONNECTED,
          'registered but no stream was opened',
          now,
        );
      }
    }
  }

  /** Evicts the oldest finished or disconnected session when the registry is full. */
  private makeRoom(): void {
    if (this.sessions.size < this.settings.maxSessions) return;
    const candidates = [...this.sessions.values()]
      .filter((session) => session.trainer === undefined || session.finished)
      .sort((a, b) => a.createdAtMs - b.createdAtMs);
    const victim = candidates.find((session) => session.finished) ?? candidates[0];
    if (victim === undefined) {
      throw errors.resourceExhausted(
        `the server already tracks ${this.settings.maxSessions} active sessions`,
      );
    }
    this.logger.log(`evicting session ${victim.id} to make room`);
    victim.trainer?.close(errors.unavailable('session evicted'));
    this.fanOut.closeAll(errors.notFound(`session ${victim.id} was evicted`), victim.id);
    this.sessions.delete(victim.id);
  }
}

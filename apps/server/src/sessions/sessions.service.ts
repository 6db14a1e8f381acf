import { randomUUID } from 'node:crypto';
import {
  Inject,
  Injectable,
  Logger,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { create, equals } from '@bufbuild/protobuf';
import {
  ConnectionState,
  CustomCommandSpecSchema,
  ErrorCode,
  MetricsResponseSchema,
  StatusEventSchema,
  WriterConflictSchema,
  type CustomCommandSpec,
  type SessionInfo,
} from '@trainwatch/proto';
import { errors } from '../common/app-error';
import { WRITER_CONFLICT_NOTICE_INTERVAL_MS } from '../common/limits';
import { SERVER_SETTINGS } from '../config/config.module';
import type { ServerSettings } from '../config/server-config';
import { SessionEventBus } from '../events/event-bus';
import { FanOutService } from '../fan-out/fan-out.service';
import { MetricsService } from '../metrics/metrics.service';
import { newResumeToken, resumeTokenMatches } from './resume-token';
import { isEmptyRunMetadata, mergeRunMetadata } from './run-metadata';
import { Session } from './session';
import { validateSessionInfo } from './session-validation';
import type { TrainerLink } from './trainer-link';
import { checkWebhookUrls } from '../watchdog/webhook-urls';

/**
 * Where this process starts numbering a session's watch events: its start
 * time in ms times a million. A watcher holding a cursor from an earlier
 * process (the server restarted) is then always behind this one's ring and
 * gets a snapshot, never another process's events under the same numbers
 * (that would take a million events per millisecond of uptime). Far below
 * 2^63: safe in every client's int64.
 */
export const CURSOR_BASE = BigInt(Date.now()) * 1_000_000n;

/** Outcome of a registration. */
export interface Registration {
  session: Session;
  resumed: boolean;
}

/** Who is asking to write a session: the token it presents and where it comes from. */
export interface WriterClaim {
  /** SessionInfo.resume_token, or the `trainwatch-resume-token` metadata of a stream. */
  resumeToken?: string;
  /** Network address of the caller, for the writer-conflict record. */
  peer?: string;
  /** SessionInfo.client_name, when the claim is a registration. */
  clientName?: string;
  /**
   * With AUTH=required, the API key the caller authenticated with. It
   * replaces the resume-token rule: a key writes the sessions it created,
   * and no other key may (PERMISSION_DENIED).
   */
  keyId?: string;
}

/** PERMISSION_DENIED unless `claim`'s key created the session; true when the claim is by key (auth on). */
function ownedByClaim(session: Session, claim: WriterClaim): boolean {
  if (claim.keyId === undefined) return false;
  if (session.ownerKeyId !== '' && session.ownerKeyId !== claim.keyId) {
    throw errors.permissionDenied(
      `session ${session.id} was created with another API key; a key writes only its own sessions (give this run its own session id)`,
    );
  }
  return true;
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
  /** Set by beginShutdown: streams end because the server stops, not because trainers went. */
  shuttingDown = false;

  constructor(
    @Inject(SERVER_SETTINGS) private readonly settings: ServerSettings,
    private readonly fanOut: FanOutService,
    metrics: MetricsService,
    private readonly bus: SessionEventBus,
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

  /**
   * Creates a session, or re-attaches the one with the same id. While a
   * trainer stream is open on the session, only the holder of its resume
   * token may re-register; anyone else gets ALREADY_EXISTS and the conflict
   * is recorded. An idle session is handed to whoever registers it, with a
   * fresh token unless the presented one matched.
   */
  register(info: SessionInfo, now = Date.now(), claim: WriterClaim = {}): Registration {
    validateSessionInfo(info, this.sessions.get(info.sessionId)?.metadata);
    checkWebhookUrls(info.webhookUrls, this.settings.webhookAllowedHosts, 'webhook_urls');
    const id = info.sessionId === '' ? randomUUID() : info.sessionId;
    let session = this.sessions.get(id);
    const resumed = session !== undefined;
    if (session === undefined) {
      this.makeRoom();
      session = new Session(id, now, this.settings);
      session.cursor = CURSOR_BASE;
      session.ownerKeyId = claim.keyId ?? '';
      if (info.resumeFromSequence > 0n) {
        // The trainer was acknowledged up to here by a server that forgot the run (a restart).
        session.lastSequence = info.resumeFromSequence;
        session.partialHistory = true;
      }
      this.sessions.set(id, session);
    } else {
      const holder =
        ownedByClaim(session, claim) || resumeTokenMatches(session.resumeToken, info.resumeToken);
      // A run made with auth off is taken over by the first key that writes it.
      if (claim.keyId !== undefined) session.ownerKeyId = claim.keyId;
      if (session.trainer !== undefined && !holder) {
        this.refuseWriter(session, { ...claim, clientName: info.clientName }, now);
        throw errors.alreadyExists(
          `another trainer is streaming to session ${id}: a registration without its resume token is refused while that stream is open; give each run its own session id`,
        );
      }
      if (!holder) session.resumeToken = newResumeToken();
    }
    session.clientName = info.clientName;
    session.clientVersion = info.clientVersion;
    session.config = info.config;
    // The whole advertised set replaces the previous one (a trainer that added a handler re-registers).
    const commandsChanged = !sameCustomCommands(session.customCommands, info.customCommands);
    session.customCommands = [...info.customCommands];
    this.touch(session, now);
    if (info.metadata !== undefined && !isEmptyRunMetadata(info.metadata)) {
      // Registration metadata merges like MetricsRequest.run_metadata (a re-registration adds to it).
      session.metadata = mergeRunMetadata(session.metadata, info.metadata);
      void this.bus.emit('metadata.changed', { session, metadata: session.metadata });
    }
    if (resumed) {
      this.setConnection(
        session,
        ConnectionState.CONNECTED,
        `re-registered by ${info.clientName || 'a trainer'}`,
        now,
      );
      if (commandsChanged) {
        void this.publishStatus(session, session.statusMessage, now, false, session.customCommands);
      }
    }
    void this.bus.emit('session.registered', {
      session,
      resumed,
      alertRules: info.alertRules,
      webhookUrls: info.webhookUrls,
    });
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

  /**
   * Takes in a session restored from the store (a stored run being watched,
   * or whose trainer came back). The one already held wins if another call
   * restored it meanwhile.
   */
  adopt(session: Session): Session {
    const held = this.sessions.get(session.id);
    if (held !== undefined) return held;
    this.makeRoom();
    this.sessions.set(session.id, session);
    return session;
  }

  /**
   * Forgets a deleted session: its watchers end with NOT_FOUND. The caller
   * checked that no trainer streams to it.
   */
  remove(sessionId: string): void {
    this.sessions.delete(sessionId);
    this.fanOut.forgetSession(sessionId, errors.notFound(`session ${sessionId} was deleted`));
  }

  /** Every session, newest first. */
  list(): Session[] {
    // Reversed insertion order first, so sessions created in the same millisecond stay newest first.
    return [...this.sessions.values()].reverse().sort((a, b) => b.createdAtMs - a.createdAtMs);
  }

  /**
   * Makes `link` the session's trainer stream. With a stream already open, a
   * claim holding the session's resume token replaces it (the old one ends
   * with ABORTED); any other claim is refused with ALREADY_EXISTS and
   * recorded as a writer conflict. With none open, anyone may attach: a
   * client that knows only the session id resumes its own run.
   */
  attachTrainer(
    session: Session,
    link: TrainerLink,
    claim: WriterClaim = {},
    now = Date.now(),
  ): void {
    const previous = session.trainer;
    const owner = ownedByClaim(session, claim);
    if (claim.keyId !== undefined) session.ownerKeyId = claim.keyId;
    if (previous !== undefined && previous !== link) {
      if (!owner && !resumeTokenMatches(session.resumeToken, claim.resumeToken)) {
        this.refuseWriter(session, claim, now);
        throw errors.alreadyExists(
          `another trainer is streaming to session ${session.id}: a stream without its resume token is refused while that stream is open; give each run its own session id`,
        );
      }
    }
    session.trainer = link;
    if (previous !== link) {
      previous?.close(errors.aborted('replaced by a newer stream of the same trainer'));
    }
    this.touch(session, now);
    this.setConnection(session, ConnectionState.CONNECTED, 'trainer stream open', now);
  }

  /** Called when a trainer stream ends; a no-op for a stream that was already replaced. */
  /**
   * The server is stopping: trainer streams it ends from now on are its own
   * doing, and their trainers come back when it does (no DISCONNECTED alert).
   */
  beginShutdown(): void {
    this.shuttingDown = true;
  }

  detachTrainer(session: Session, link: TrainerLink, now = Date.now()): void {
    if (session.trainer !== link) return;
    session.trainer = undefined;
    // The conflict lasts while the holder writes; once it is gone, the next trainer may attach.
    session.writerConflict = undefined;
    if (this.shuttingDown && !session.finished) {
      this.setConnection(
        session,
        ConnectionState.DISCONNECTED,
        'the server is shutting down; the trainer resumes the run when it is back',
        now,
      );
    } else if (session.finished) {
      this.setConnection(
        session,
        ConnectionState.CLOSED,
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

  /**
   * Records a refused second writer on the session's summary, and (at most
   * once per WRITER_CONFLICT_NOTICE_INTERVAL_MS) tells watchers with a
   * StatusEvent and the live trainer with an ErrorResponse SESSION_CONFLICT.
   */
  private refuseWriter(session: Session, claim: WriterClaim, now: number): void {
    const previous = session.writerConflict;
    const refusals = (previous?.refusals ?? 0) + 1;
    // A stream carries no client name; on the connection that registered, it is the same client.
    const sameConnection =
      previous !== undefined && claim.peer !== undefined && previous.peer === claim.peer;
    session.writerConflict = create(WriterConflictSchema, {
      clientName: claim.clientName || (sameConnection ? previous.clientName : ''),
      peer: claim.peer ?? '',
      lastRefusedAtMs: BigInt(now),
      refusals,
    });
    const last = session.lastConflictNoticeMs;
    if (last !== undefined && now - last < WRITER_CONFLICT_NOTICE_INTERVAL_MS) return;
    session.lastConflictNoticeMs = now;
    const who = `${claim.clientName || 'a client'}${claim.peer ? ` at ${claim.peer}` : ''}`;
    const message = `another trainer (${who}) tried to write session ${session.id} and was refused (${refusals} time(s)); two trainers are using one session id, give each run its own`;
    this.logger.warn(message);
    void this.publishStatus(session, message, now);
    session.trainer?.send(
      create(MetricsResponseSchema, {
        sessionId: session.id,
        timestampMs: BigInt(now),
        payload: { case: 'error', value: { code: ErrorCode.SESSION_CONFLICT, message } },
      }),
    );
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
    void this.publishStatus(session, message, now);
  }

  /**
   * Tells listeners (watchers among them) the session's current status and
   * connection; returns what an asynchronous listener is still doing.
   */
  publishStatus(
    session: Session,
    message: string,
    now = Date.now(),
    withConfig = false,
    /** Set when the advertised custom commands changed: watchers redraw their forms. */
    customCommands?: readonly CustomCommandSpec[],
  ): Promise<void> | undefined {
    return this.bus.emit('status.changed', {
      session,
      status: create(StatusEventSchema, {
        status: session.status,
        message,
        connection: session.connection,
        timestampMs: BigInt(now),
        config: withConfig ? session.config : undefined,
        // Every StatusEvent carries the session's current conflict and history marks.
        writerConflict: session.writerConflict,
        partialHistory: session.partialHistory,
        historyStartStep: session.historyStartStep ?? 0n,
        customCommands:
          customCommands === undefined ? undefined : { commands: [...customCommands] },
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
    this.fanOut.forgetSession(victim.id, errors.notFound(`session ${victim.id} was evicted`));
    this.sessions.delete(victim.id);
  }
}

/** True when two advertised sets are the same commands with the same declarations. */
function sameCustomCommands(
  a: readonly CustomCommandSpec[],
  b: readonly CustomCommandSpec[],
): boolean {
  return (
    a.length === b.length &&
    a.every((spec, index) => equals(CustomCommandSpecSchema, spec, b[index]!))
  );
}

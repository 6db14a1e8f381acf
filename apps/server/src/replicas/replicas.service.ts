import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import {
  SendCommandRequestSchema,
  SendCommandResponseSchema,
  WatchSessionResponseSchema,
  type SendCommandRequest,
  type SendCommandResponse,
  type WatchSessionRequest,
  type WatchSessionResponse,
} from '@trainwatch/proto';
import { AppError, errors } from '../common/app-error';
import { WATCH_RESUME_BYTES, WATCH_RESUME_EVENTS } from '../common/limits';
import { CommandsService } from '../commands/commands.service';
import { SERVER_SETTINGS } from '../config/config.module';
import type { ServerSettings } from '../config/server-config';
import { SessionEventBus } from '../events/event-bus';
import type { SessionEventName } from '../events/session-events';
import { FanOutService } from '../fan-out/fan-out.service';
import { WATCH_EVENT_KINDS, type WatchCase, type WatchValue } from '../fan-out/watch-event-kinds';
import type { Watcher } from '../fan-out/watcher';
import { MetricsService } from '../metrics/metrics.service';
import { RunsService } from '../runs/runs.service';
import type { Session } from '../sessions/session';
import { SessionsService } from '../sessions/sessions.service';
import { decodeEnvelope } from './bus-envelope';
import { BusRequestError, NoOwnerError, type ReplicaBus, type SessionLease } from './replica-bus';
import { REPLICA_BUS } from './replica-bus.provider';
import { readLogAfter } from './log-catch-up';
import {
  SESSION_EDITS,
  type EditHandlers,
  type EditKind,
  type EditRequest,
  type EditResponse,
} from './session-edits';
import { SessionFollow, stepOf, type FollowMember } from './session-follow';
import { SessionPublisher, type OwnedEvent } from './session-publisher';

/** How long a replica waits for the owner's snapshot before answering UNAVAILABLE. */
const SNAPSHOT_TIMEOUT_MS = 5000;
/** How long a replica waits for the owner to apply an edit before answering UNAVAILABLE. */
const EDIT_TIMEOUT_MS = 5000;
/**
 * Tries of an edit while its session changes hands, and the pause before
 * each retry (times the try): 1.4 s of pauses in all. A run's owner lets go
 * of it a moment after its trainer stops; with 4 tries (0.3 s) an edit sent
 * right then was once answered UNAVAILABLE in a full test run on 2 cores.
 */
const EDIT_ROUNDS = 8;
const EDIT_ROUND_PAUSE_MS = 50;
/** First byte of an edit's reply: applied (the response follows), or not the owner any more. */
const EDIT_DONE = 0;
const EDIT_NOT_OWNER = 1;
/** Longest a resuming watch reads the log before it starts from a snapshot instead. */
const CATCH_UP_TIMEOUT_MS = 5000;
/** Slack over the command's own timeout for the hop to the owner and back. */
const COMMAND_HOP_SLACK_MS = 2000;

interface Owned {
  readonly publisher: SessionPublisher;
  lease: SessionLease | undefined;
  readonly stopServing: (() => void)[];
  /** Edits running here on a session no trainer streams to (it is owned for them only). */
  editing: number;
}

/**
 * Several replicas, one set of sessions (NATS_URL set). The replica holding
 * a trainer's stream owns its session: it holds the session's lease, appends
 * every watch event to the session's log on the bus with the log's cursor,
 * and answers commands and snapshots for it. A watcher on any replica (the
 * owner's included) starts from the owner's snapshot and follows the log,
 * so every replica shows every session in one order. Without NATS_URL this
 * service does nothing and everything stays in this process.
 */
@Injectable()
export class ReplicasService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Replicas');
  private readonly owned = new Map<string, Owned>();
  /** One publisher per session object, kept across a trainer's reconnects to this replica. */
  private readonly publishers = new WeakMap<Session, SessionPublisher>();
  /** Each watched session's follow of its log on this replica, shared by its watchers. */
  private readonly follows = new Map<string, SessionFollow>();
  private editHandlers: EditHandlers | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private lastBusError = 0;

  constructor(
    @Inject(SERVER_SETTINGS) private readonly settings: ServerSettings,
    @Inject(REPLICA_BUS) private readonly bus: ReplicaBus | null,
    private readonly events: SessionEventBus,
    private readonly fanOut: FanOutService,
    private readonly sessions: SessionsService,
    private readonly runs: RunsService,
    private readonly commands: CommandsService,
    metrics: MetricsService,
  ) {
    metrics.gauge(
      'replica_owned_sessions',
      'Sessions whose trainer streams to this replica.',
      () => (this.bus === null ? 0 : this.owned.size),
    );
    metrics.gauge(
      'replica_session_follows',
      "Sessions this replica follows on the bus: one follow each, shared by the session's watchers here.",
      () => this.follows.size,
    );
  }

  /** True when replicas cooperate over NATS. */
  get enabled(): boolean {
    return this.bus !== null;
  }

  onModuleInit(): void {
    if (this.bus === null) return;
    // Subscribed after the fan-out (injected above), so each event is built after its local cursor moved.
    for (const kind of Object.keys(WATCH_EVENT_KINDS) as WatchCase[]) this.listen(kind);
    this.events.on('status.changed', ({ session }) => this.followTrainer(session));
    this.renewTimer = setInterval(
      () => void this.renewLeases(),
      Math.max(250, Math.floor(this.settings.replicaLeaseTtlMs / 3)),
    );
    this.renewTimer.unref();
    this.logger.log(`replica ${this.bus.replicaId} cooperating over NATS`);
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.renewTimer);
    const bus = this.bus;
    if (bus === null) return;
    await Promise.all([...this.owned.keys()].map((id) => this.disown(id)));
    await bus.close();
  }

  /**
   * A watch on this replica. It joins the session's follow on this replica
   * (one bus follow per session, shared by its watchers). With a
   * `resume_cursor` whose later events this replica's follow or the bus log
   * still holds (the cursor is the log's, the same on every replica), those
   * events come first after a keepalive carrying the cursor, as on a single
   * replica; otherwise (or without a cursor) the owner's snapshot (or, for a
   * run no replica owns, the store's) comes first, then what follows it.
   */
  async watch(request: WatchSessionRequest): Promise<Watcher> {
    this.requireBus();
    const follow = this.followOf(request.sessionId);
    follow.hold();
    try {
      await follow.ready.catch((error: unknown) => {
        throw this.busUnavailable(error);
      });
      if (request.resumeCursor > 0n) {
        const resumed = await this.resume(follow, request.resumeCursor);
        if (resumed !== undefined) return resumed;
      }
      return await this.joinFromSnapshot(follow);
    } finally {
      follow.release();
    }
  }

  /** Sessions this replica follows on the bus (for metrics and tests). */
  get followCount(): number {
    return this.follows.size;
  }

  /** The session's follow on this replica, started by its first watch. */
  private followOf(sessionId: string): SessionFollow {
    const existing = this.follows.get(sessionId);
    if (existing !== undefined && !existing.isClosed) return existing;
    const follow = new SessionFollow(
      sessionId,
      this.requireBus(),
      { maxEvents: WATCH_RESUME_EVENTS, maxBytes: WATCH_RESUME_BYTES },
      this.settings.watcherQueueSize,
      (idle) => {
        if (this.follows.get(sessionId) === idle) this.follows.delete(sessionId);
      },
    );
    this.follows.set(sessionId, follow);
    // The bus was away: the next watch starts a new follow.
    follow.ready.catch(() => follow.close());
    return follow;
  }

  /** The events after `cursor` from this replica's follow or the log; undefined when not all are held. */
  private async resume(follow: SessionFollow, cursor: bigint): Promise<Watcher | undefined> {
    const bus = this.requireBus();
    const member = this.member(follow.sessionId);
    const point = follow.beginJoin(member);
    let events: WatchSessionResponse[] | undefined;
    if (cursor === point.cursor) {
      events = [];
    } else if (cursor < point.cursor) {
      events =
        point.fromRing(cursor) ??
        (await readLogAfter(bus, follow.sessionId, cursor, point.position, {
          maxEvents: this.settings.watcherQueueSize,
          timeoutMs: CATCH_UP_TIMEOUT_MS,
        }));
    } else {
      // Ahead of this replica's follow, which may trail another replica's by a few events:
      // resumable when the log has reached it (the follow brings what comes after).
      const newest = await bus.lastEvent(follow.sessionId).catch(() => undefined);
      events = newest !== undefined && cursor <= cursorOf(newest.payload) ? [] : undefined;
    }
    if (events === undefined || follow.isClosed) {
      follow.leave(member);
      return undefined;
    }
    // A keepalive first tells the client at once that its cursor was taken (no snapshot follows).
    const accepted = create(WatchSessionResponseSchema, {
      cursor,
      event: { case: 'keepalive', value: { serverTimeMs: BigInt(Date.now()) } },
    });
    return this.finishJoin(follow, member, cursor, accepted, events);
  }

  private async joinFromSnapshot(follow: SessionFollow): Promise<Watcher> {
    const sessionId = follow.sessionId;
    // A second round only when the session moved faster than the first join could take in.
    for (let round = 0; round < 2; round++) {
      const member = this.member(sessionId);
      const point = follow.beginJoin(member);
      let snapshot: WatchSessionResponse;
      try {
        snapshot = await this.snapshotOf(sessionId);
      } catch (error) {
        follow.leave(member);
        throw error;
      }
      // The follow may have passed the snapshot before it came: those events come from its ring.
      const events =
        snapshot.cursor >= point.cursor
          ? []
          : (point.fromRing(snapshot.cursor) ??
            (await readLogAfter(this.requireBus(), sessionId, snapshot.cursor, point.position, {
              maxEvents: this.settings.watcherQueueSize,
              timeoutMs: CATCH_UP_TIMEOUT_MS,
            })));
      const watcher =
        events === undefined || follow.isClosed
          ? undefined
          : this.finishJoin(follow, member, snapshot.cursor, snapshot, events);
      if (watcher !== undefined) return watcher;
      follow.leave(member);
    }
    throw errors.unavailable(
      `session ${sessionId} moved faster than a watch could join it (more than ${this.settings.watcherQueueSize} events); watch again`,
    );
  }

  /**
   * Hands the joining watch its first event, the events it caught up on and
   * what came live meanwhile, checked to follow each other with no gap; from
   * here on it gets the follow's events live. Undefined (the caller starts
   * over) when they do not fit its queue or do not follow each other.
   */
  private finishJoin(
    follow: SessionFollow,
    member: FollowMember,
    cursor: bigint,
    first: WatchSessionResponse,
    events: readonly WatchSessionResponse[],
  ): Watcher | undefined {
    const pending = follow.finishJoin(member);
    const replay = member.overflowed === true ? undefined : joined(cursor, first, events, pending);
    if (replay === undefined || replay.length > this.settings.watcherQueueSize) {
      follow.leave(member);
      return undefined;
    }
    const last = replay.length > 1 ? (replay.at(-1) as WatchSessionResponse).cursor : cursor;
    member.last = last;
    follow.hold();
    const watcher = this.fanOut.watchFed(follow.sessionId, { replay, cursor }, () => {
      follow.leave(member);
      follow.release();
    });
    member.watcher = watcher;
    return watcher;
  }

  private member(sessionId: string): FollowMember {
    const member: FollowMember = {
      last: 0n,
      onGap: (from, to) =>
        member.watcher?.close(
          errors.unavailable(
            `events ${from}..${to} of session ${sessionId} are no longer kept; watch again`,
          ),
        ),
    };
    return member;
  }

  /**
   * SendCommand on any replica: run where the trainer's stream is. A session
   * no replica owns is answered here (its trainer is not connected).
   */
  async sendCommand(
    request: SendCommandRequest,
    verifiedIssuer: string,
  ): Promise<SendCommandResponse> {
    const bus = this.requireBus();
    const local = this.sessions.find(request.sessionId);
    if (local?.trainer !== undefined) return this.commands.send(request, verifiedIssuer);
    const owner = await bus.owner(request.sessionId).catch(() => undefined);
    if (owner === undefined || owner === bus.replicaId) {
      return this.commands.send(request, verifiedIssuer);
    }
    const body = Buffer.from(
      JSON.stringify({
        issuer: verifiedIssuer,
        request: Buffer.from(toBinary(SendCommandRequestSchema, request)).toString('base64'),
      }),
    );
    const timeoutMs =
      (request.timeoutMs > 0 ? request.timeoutMs : this.settings.commandTimeoutMs) +
      COMMAND_HOP_SLACK_MS;
    try {
      const reply = await bus.request('command', request.sessionId, body, timeoutMs);
      return fromBinary(SendCommandResponseSchema, reply);
    } catch (error) {
      if (error instanceof NoOwnerError) return this.commands.send(request, verifiedIssuer);
      throw this.fromOwner(error);
    }
  }

  /** How this replica applies each edit itself (DashboardService registers them). */
  serveEdits(handlers: EditHandlers): void {
    this.editHandlers = handlers;
  }

  /**
   * An edit that makes a watch event (UpdateSession, AcknowledgeAlert,
   * SetAlertRules), on any replica: it runs on the session's owner, the one
   * replica appending the session's events, so its event takes its place in
   * the log's one order and reaches watchers on every replica. A session no
   * replica owns (no trainer streams to it) is owned here for the edit: the
   * lease makes this replica the only one appending meanwhile.
   */
  async edit<K extends EditKind>(
    kind: K,
    request: EditRequest<K>,
    by: string,
  ): Promise<EditResponse<K>> {
    const bus = this.requireBus();
    const sessionId = request.sessionId;
    if (this.owned.has(sessionId)) return this.editHere(kind, request, by);
    // Another round when the owner let go (its lease goes a moment after it stops serving) or
    // another replica claimed the session in between; a short pause lets the lease settle.
    for (let round = 0; round < EDIT_ROUNDS; round++) {
      if (round > 0)
        await new Promise((resolve) => setTimeout(resolve, EDIT_ROUND_PAUSE_MS * round));
      const owner = await bus.owner(sessionId).catch((error: unknown) => {
        throw this.busUnavailable(error);
      });
      if (owner !== undefined && owner !== bus.replicaId) {
        const body = Buffer.from(
          JSON.stringify({
            kind,
            by,
            request: Buffer.from(toBinary(SESSION_EDITS[kind].request, request)).toString('base64'),
          }),
        );
        try {
          const reply = await bus.request('edit', sessionId, body, EDIT_TIMEOUT_MS);
          // It let go of the session as the request came: ask again who holds it.
          if (reply[0] === EDIT_NOT_OWNER) continue;
          return fromBinary(SESSION_EDITS[kind].response, reply.subarray(1)) as EditResponse<K>;
        } catch (error) {
          if (error instanceof NoOwnerError) continue;
          throw this.fromOwner(error);
        }
      }
      const done = await this.editAsOwner(kind, request, by);
      if (done !== undefined) return done.response;
    }
    throw errors.unavailable(
      `session ${sessionId} changed hands while it was edited; try the edit again`,
    );
  }

  /** Owns an unowned session for one edit; undefined when another replica claimed it first. */
  private async editAsOwner<K extends EditKind>(
    kind: K,
    request: EditRequest<K>,
    by: string,
  ): Promise<{ response: EditResponse<K> } | undefined> {
    const bus = this.requireBus();
    // The stored run, in memory here (NOT_FOUND when there is none).
    const session = await this.runs.session(request.sessionId);
    let owned = this.owned.get(session.id);
    if (owned === undefined) {
      const lease = await bus.claim(session.id).catch((error: unknown) => {
        throw this.busUnavailable(error);
      });
      if (lease === undefined) return undefined;
      owned = this.owned.get(session.id) ?? this.own(session, bus, lease);
    }
    owned.editing += 1;
    try {
      return { response: await this.editHere(kind, request, by) };
    } finally {
      owned.editing -= 1;
      // Let go once the edit's events are in the log, unless a trainer came or another edit runs.
      await owned.publisher.settled();
      if (
        owned.editing === 0 &&
        session.trainer === undefined &&
        this.owned.get(session.id) === owned
      ) {
        await this.disown(session.id);
      }
    }
  }

  /**
   * The owner's side of an edit made on another replica: one status byte
   * (EDIT_DONE, or EDIT_NOT_OWNER when this replica let the session go as
   * the request came, so its event would reach nobody), then the response.
   */
  private async editFromReplica(sessionId: string, body: Uint8Array): Promise<Uint8Array> {
    if (!this.owned.has(sessionId)) return Uint8Array.of(EDIT_NOT_OWNER);
    const { kind, by, request } = JSON.parse(Buffer.from(body).toString('utf8')) as {
      kind: EditKind;
      by: string;
      request: string;
    };
    const schemas = SESSION_EDITS[kind] as (typeof SESSION_EDITS)[EditKind] | undefined;
    if (schemas === undefined) throw errors.invalidArgument(`unknown edit ${kind}`);
    const decoded = fromBinary(schemas.request, Buffer.from(request, 'base64'));
    const response = await this.editHere(kind, decoded as EditRequest<typeof kind>, by);
    const encoded = toBinary(schemas.response, response as never);
    const reply = new Uint8Array(encoded.length + 1);
    reply[0] = EDIT_DONE;
    reply.set(encoded, 1);
    return reply;
  }

  private editHere<K extends EditKind>(
    kind: K,
    request: EditRequest<K>,
    by: string,
  ): Promise<EditResponse<K>> {
    const handler = this.editHandlers?.[kind] as
      ((request: EditRequest<K>, by: string) => Promise<EditResponse<K>>) | undefined;
    if (handler === undefined) throw new Error(`no handler for the ${kind} edit`);
    return handler(request, by);
  }

  /** Listens to the session events a watch event kind comes from, for owned sessions. */
  private listen<K extends WatchCase>(kind: K): void {
    const source = WATCH_EVENT_KINDS[kind];
    if (source.from === 'watch') return;
    // The registry's type ties `from` to `toValue`; this loop over every kind cannot name the pair.
    const { from, toValue, parts } = source as unknown as {
      from: SessionEventName;
      toValue(payload: { session: Session }): WatchValue<K>;
      parts?(value: WatchValue<K>): WatchValue<K>[];
    };
    this.events.on(from, (payload) => {
      const owned = this.owned.get(payload.session.id) ?? this.ownIfStreaming(payload.session);
      if (owned === undefined) return;
      const value = toValue(payload);
      for (const part of parts?.(value) ?? [value]) {
        owned.publisher.publish({ case: kind, value: part } as OwnedEvent);
      }
    });
  }

  /** Owns a session once a trainer streams to it here; gives it up when the stream ends. */
  private followTrainer(session: Session): void {
    if (session.trainer !== undefined) this.ownIfStreaming(session);
    else if (this.owned.has(session.id)) void this.disown(session.id);
  }

  private ownIfStreaming(session: Session): Owned | undefined {
    const bus = this.bus;
    if (bus === null || session.trainer === undefined) return undefined;
    const existing = this.owned.get(session.id);
    if (existing !== undefined) return existing;
    const owned = this.own(session, bus);
    // The trainer chose this replica: the lease moves here even if another one held it.
    // (When the bus is away, the renew round claims it once it is back.)
    void bus.claim(session.id, { takeOver: true }).then(
      (lease) => {
        if (this.owned.get(session.id) === owned) owned.lease = lease;
        else void lease?.release();
      },
      (error: unknown) => this.busTrouble(error),
    );
    return owned;
  }

  /** Publishes the session's events from here and answers for it (the caller holds or claims the lease). */
  private own(session: Session, bus: ReplicaBus, lease?: SessionLease): Owned {
    let publisher = this.publishers.get(session);
    if (publisher === undefined) {
      publisher = new SessionPublisher(session, bus, this.settings.busPublishQueue, (error) =>
        this.busTrouble(error),
      );
      this.publishers.set(session, publisher);
    } else {
      publisher.reopen();
    }
    const ownedPublisher = publisher;
    const owned: Owned = { publisher, lease, stopServing: [], editing: 0 };
    this.owned.set(session.id, owned);
    owned.stopServing.push(
      bus.serve('snapshot', session.id, async () =>
        toBinary(WatchSessionResponseSchema, await ownedPublisher.snapshot()),
      ),
      bus.serve('command', session.id, (body) => this.commandFromReplica(body)),
      bus.serve('edit', session.id, (body) => this.editFromReplica(session.id, body)),
    );
    return owned;
  }

  /** `lost`: another replica holds the session now, so nothing more is appended from here. */
  private async disown(sessionId: string, { lost = false } = {}): Promise<void> {
    const owned = this.owned.get(sessionId);
    if (owned === undefined) return;
    this.owned.delete(sessionId);
    for (const stop of owned.stopServing) stop();
    owned.publisher.close({ drop: lost });
    if (!lost) await owned.lease?.release().catch(() => undefined);
  }

  private async renewLeases(): Promise<void> {
    const bus = this.bus;
    if (bus === null) return;
    for (const [sessionId, owned] of [...this.owned]) {
      try {
        if (owned.lease !== undefined && (await owned.lease.renew())) continue;
        // No lease yet (the bus was away when the trainer came), or it expired meanwhile.
        const owner = await bus.owner(sessionId);
        if (owner === undefined || owner === bus.replicaId || owned.lease === undefined) {
          const lease = await bus.claim(sessionId, { takeOver: owned.lease === undefined });
          if (lease !== undefined) {
            owned.lease = lease;
            continue;
          }
        }
      } catch (error) {
        // The bus is away, not another owner: keep streaming and try again next round.
        this.busTrouble(error);
        continue;
      }
      // Another replica took the session: its trainer came back there.
      this.logger.warn(`session ${sessionId} moved to another replica; ending its stream here`);
      owned.lease = undefined;
      const session = this.sessions.find(sessionId);
      await this.disown(sessionId, { lost: true });
      session?.trainer?.close(
        errors.aborted('the session was taken over by a newer stream on another replica'),
      );
    }
  }

  private async snapshotOf(sessionId: string): Promise<WatchSessionResponse> {
    const bus = this.requireBus();
    const owned = this.owned.get(sessionId);
    if (owned !== undefined) return owned.publisher.snapshot();
    const owner = await bus.owner(sessionId).catch((error: unknown) => {
      throw this.busUnavailable(error);
    });
    if (owner !== undefined && owner !== bus.replicaId) {
      try {
        const reply = await bus.request(
          'snapshot',
          sessionId,
          new Uint8Array(0),
          SNAPSHOT_TIMEOUT_MS,
        );
        return fromBinary(WatchSessionResponseSchema, reply);
      } catch (error) {
        if (!(error instanceof NoOwnerError)) throw this.fromOwner(error);
        // The owner just let go: the store has the run.
      }
    }
    // Nobody streams to it: the stored run, at the log's cursor so a returning trainer continues it.
    const session = await this.runs.session(sessionId);
    const last = await bus.lastEvent(sessionId).catch(() => undefined);
    const cursor = last === undefined ? session.cursor : cursorOf(last.payload);
    return create(WatchSessionResponseSchema, {
      cursor,
      event: { case: 'snapshot', value: session.toSnapshot() },
    });
  }

  /** The owner's side of a command sent on another replica. */
  private async commandFromReplica(body: Uint8Array): Promise<Uint8Array> {
    const { issuer, request } = JSON.parse(Buffer.from(body).toString('utf8')) as {
      issuer: string;
      request: string;
    };
    const decoded = fromBinary(SendCommandRequestSchema, Buffer.from(request, 'base64'));
    const response = await this.commands.send(decoded, issuer);
    return toBinary(SendCommandResponseSchema, response);
  }

  /** An error from the owner, as the caller's own status. */
  private fromOwner(error: unknown): AppError {
    if (error instanceof BusRequestError && error.code !== undefined) {
      return new AppError(error.code, error.message);
    }
    return this.busUnavailable(error);
  }

  private busUnavailable(error: unknown): AppError {
    const reason = error instanceof Error ? error.message : String(error);
    return errors.unavailable(`the replicas' bus did not answer: ${reason}`);
  }

  private busTrouble(error: unknown): void {
    const now = Date.now();
    // Once per 10 s at most: a NATS restart would otherwise log every event.
    if (now - this.lastBusError < 10_000) return;
    this.lastBusError = now;
    this.logger.warn(`replica bus: ${error instanceof Error ? error.message : String(error)}`);
  }

  private requireBus(): ReplicaBus {
    if (this.bus === null) throw new Error('replicas are not enabled (NATS_URL is not set)');
    return this.bus;
  }
}

/** The watch cursor a logged event carries. */
function cursorOf(payload: Uint8Array): bigint {
  return fromBinary(WatchSessionResponseSchema, decodeEnvelope(payload).message).cursor;
}

/** The first event, then the caught-up and pending events after `cursor` in order; undefined at a gap. */
function joined(
  cursor: bigint,
  first: WatchSessionResponse,
  events: readonly WatchSessionResponse[],
  pending: readonly WatchSessionResponse[],
): WatchSessionResponse[] | undefined {
  let last = cursor;
  const replay = [first];
  for (const event of [...events, ...pending]) {
    const step = stepOf(last, event);
    if (step === 'skip') continue;
    if (step === 'gap') return undefined;
    last = event.cursor;
    replay.push(event);
  }
  return replay;
}

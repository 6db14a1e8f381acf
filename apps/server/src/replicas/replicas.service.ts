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
  WATCH_EVENT_DELIVERY,
  WatchSessionResponseSchema,
  type SendCommandRequest,
  type SendCommandResponse,
  type WatchSessionRequest,
  type WatchSessionResponse,
} from '@trainwatch/proto';
import { AppError, errors } from '../common/app-error';
import { CommandsService } from '../commands/commands.service';
import { SERVER_SETTINGS } from '../config/config.module';
import type { ServerSettings } from '../config/server-config';
import { SessionEventBus } from '../events/event-bus';
import type { SessionEventName } from '../events/session-events';
import { FanOutService } from '../fan-out/fan-out.service';
import { WATCH_EVENT_KINDS, type WatchCase, type WatchValue } from '../fan-out/watch-event-kinds';
import type { LatestWinsCase, Watcher } from '../fan-out/watcher';
import { MetricsService } from '../metrics/metrics.service';
import { RunsService } from '../runs/runs.service';
import type { Session } from '../sessions/session';
import { SessionsService } from '../sessions/sessions.service';
import { decodeEnvelope } from './bus-envelope';
import {
  BusRequestError,
  NoOwnerError,
  type Following,
  type ReplicaBus,
  type SessionLease,
} from './replica-bus';
import { REPLICA_BUS } from './replica-bus.provider';
import { SessionPublisher, type OwnedEvent } from './session-publisher';

/** How long a replica waits for the owner's snapshot before answering UNAVAILABLE. */
const SNAPSHOT_TIMEOUT_MS = 5000;
/** Slack over the command's own timeout for the hop to the owner and back. */
const COMMAND_HOP_SLACK_MS = 2000;

interface Owned {
  readonly publisher: SessionPublisher;
  lease: SessionLease | undefined;
  readonly stopServing: (() => void)[];
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
   * A watch on this replica: the owner's snapshot (or, for a run no replica
   * owns, the store's), then the session's log from a position read before
   * the snapshot, events up to the snapshot's cursor skipped.
   */
  async watch(request: WatchSessionRequest): Promise<Watcher> {
    const bus = this.requireBus();
    const sessionId = request.sessionId;
    const position = await bus.lastPosition(sessionId).catch((error: unknown) => {
      throw this.busUnavailable(error);
    });
    const snapshot = await this.snapshotOf(sessionId);
    const followings: Following[] = [];
    const watcher = this.fanOut.watchFed(sessionId, snapshot, () => {
      for (const following of followings) following.close();
    });
    let last = snapshot.cursor;
    const feed = (message: Uint8Array, kept: boolean): void => {
      const event = fromBinary(WatchSessionResponseSchema, message);
      const kind = event.event.case;
      if (kind === undefined || kind === 'keepalive') return;
      if (kind === 'snapshot') {
        // A fresh start from the owner (it could not publish for a while): replaces what was shown.
        if (event.cursor >= last) {
          last = event.cursor;
          watcher.pushLossless(event);
        }
        return;
      }
      if (!kept) {
        watcher.offerLatest(kind as LatestWinsCase, [event]);
        return;
      }
      if (WATCH_EVENT_DELIVERY[kind] !== 'lossless' || event.cursor <= last) return;
      if (event.cursor !== last + 1n) {
        watcher.close(
          errors.unavailable(
            `events ${last + 1n}..${event.cursor - 1n} of session ${sessionId} are no longer kept; watch again`,
          ),
        );
        return;
      }
      last = event.cursor;
      watcher.pushLossless(event);
    };
    if (!watcher.isClosed) {
      followings.push(
        bus.follow(sessionId, position, (event) =>
          feed(decodeEnvelope(event.payload).message, true),
        ),
        bus.listen(sessionId, (payload) => feed(payload, false)),
      );
    }
    return watcher;
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
    const owned: Owned = { publisher, lease: undefined, stopServing: [] };
    this.owned.set(session.id, owned);
    owned.stopServing.push(
      bus.serve('snapshot', session.id, async () =>
        toBinary(WatchSessionResponseSchema, await ownedPublisher.snapshot()),
      ),
      bus.serve('command', session.id, (body) => this.commandFromReplica(body)),
    );
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
    const cursor =
      last === undefined
        ? session.cursor
        : fromBinary(WatchSessionResponseSchema, decodeEnvelope(last.payload).message).cursor;
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

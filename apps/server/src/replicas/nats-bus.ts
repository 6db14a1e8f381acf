import { randomUUID } from 'node:crypto';
import {
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  jetstream,
  jetstreamManager,
  StorageType,
  type Consumer,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import {
  nanos,
  RequestError,
  TimeoutError,
  type NatsConnection,
  type Subscription,
} from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import {
  answer,
  BusTimeoutError,
  decodeReply,
  DEFAULT_REPLICA_BUS_LIMITS,
  NoOwnerError,
  sessionToken,
  type AppendResult,
  type BusEvent,
  type Following,
  type ReplicaBus,
  type ReplicaBusLimits,
  type RequestHandler,
  type RequestKind,
  type SessionLease,
} from './replica-bus';

/** The JetStream stream holding every session's events, one subject per session. */
export const EVENTS_STREAM = 'TRAINWATCH_EVENTS';
const EVENTS_SUBJECT = 'trainwatch.events';
/** The KV bucket of session leases: key = session token, value = replica id. */
export const LEASES_BUCKET = 'trainwatch-leases';

export interface NatsBusOptions {
  readonly url: string;
  readonly limits?: ReplicaBusLimits;
  readonly replicaId?: string;
  /** Bytes the events stream may hold in all (oldest sessions' events go first). */
  readonly maxStreamBytes?: number;
  /** How often a replica says again which sessions it listens to (default INTEREST_REFRESH_MS). */
  readonly interestRefreshMs?: number;
}

/**
 * How often a listening replica announces its interest in a session's
 * latest-wins values again. A listen announces at once (and again after a
 * reconnect), so an owner learns of it within one round trip; the refresh
 * bounds how late an owner that missed that announcement (it was away from
 * NATS) starts sending: within one refresh.
 */
export const INTEREST_REFRESH_MS = 1000;
/** Refreshes an interest outlives its last announcement (one missed announcement is not an end). */
const INTEREST_TTL_REFRESHES = 3;

/** Pause before a follower whose consumer was lost starts again. */
const FOLLOW_RETRY_MS = 250;

/** Default bound of the events stream on disk. */
export const DEFAULT_EVENTS_STREAM_BYTES = 1024 * 1024 * 1024;

/**
 * ReplicaBus over NATS: JetStream for the per-session event log (msgID
 * dedupe, ordered consumers), a KV bucket with compare-and-set for leases,
 * core request/reply to the owner. The connection reconnects by itself
 * without limit (a restarted NATS server is picked up again); ordered
 * consumers resume where they were.
 */
export class NatsBus implements ReplicaBus {
  private readonly closers = new Set<() => void>();
  /** Restarts each open follow's consumer (after a reconnect it may stall until its heartbeat check). */
  private readonly restarters = new Set<() => void>();
  /** This replica's listeners of latest-wins values, by session token: served without NATS. */
  private readonly localListeners = new Map<string, Set<(payload: Uint8Array) => void>>();
  /**
   * Sessions (by token) some other replica listens to, and when that interest
   * lapses unless announced again. Latest-wins values (image frames, ~20 MB/s
   * at ten trainers) go to NATS only for these. Bounded by the sessions
   * listened to anywhere; lapsed entries go at each refresh.
   */
  private readonly remoteInterest = new Map<string, number>();
  /** This replica's id as one subject token: the origin of what it broadcasts, and of its interest. */
  private readonly originToken: string;
  private readonly interestTimer: NodeJS.Timeout;

  private constructor(
    readonly replicaId: string,
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly leases: KV,
    private readonly interestRefreshMs: number,
  ) {
    this.originToken = sessionToken(replicaId);
    void (async () => {
      for await (const status of nc.status()) {
        if (status.type !== 'reconnect') continue;
        for (const restart of this.restarters) restart();
        // Interest announced while away was lost: say it again now, not a refresh later.
        this.announceInterest();
      }
    })();
    nc.subscribe(`${INTEREST_SUBJECT}.>`, {
      callback: (error, message) => {
        if (error !== null) return;
        // trainwatch.interest.<session token>.<origin token>
        const tokens = message.subject.split('.');
        if (tokens.length !== 4 || tokens[3] === this.originToken) return;
        this.remoteInterest.set(
          tokens[2] as string,
          Date.now() + this.interestRefreshMs * INTEREST_TTL_REFRESHES,
        );
      },
    });
    this.interestTimer = setInterval(() => {
      this.announceInterest();
      const now = Date.now();
      for (const [token, until] of this.remoteInterest) {
        if (until <= now) this.remoteInterest.delete(token);
      }
    }, interestRefreshMs);
    this.interestTimer.unref();
  }

  static async connect(options: NatsBusOptions): Promise<NatsBus> {
    const limits = options.limits ?? DEFAULT_REPLICA_BUS_LIMITS;
    const replicaId = options.replicaId ?? randomUUID();
    const nc = await connect({
      servers: options.url,
      name: `trainwatch-${replicaId}`,
      // Replicas outlive NATS restarts: keep trying, a quarter second apart.
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      // Without this every request (each JetStream publish) builds a RequestError and a
      // TimeoutError up front, for a stack trace should it fail: ~8% of a busy owner's CPU.
      noAsyncTraces: true,
    });
    try {
      const jsm = await jetstreamManager(nc);
      await ensureStream(jsm, {
        name: EVENTS_STREAM,
        subjects: [`${EVENTS_SUBJECT}.>`],
        storage: StorageType.File,
        discard: DiscardPolicy.Old,
        max_msgs_per_subject: limits.maxEventsPerSession,
        max_bytes: options.maxStreamBytes ?? DEFAULT_EVENTS_STREAM_BYTES,
        duplicate_window: nanos(limits.dedupeWindowMs),
      });
      const js = jetstream(nc);
      // A lease is a key whose age is its last renewal: the bucket's TTL drops dead ones.
      const leases = await new Kvm(js).create(LEASES_BUCKET, {
        ttl: limits.leaseTtlMs,
        history: 1,
      });
      return new NatsBus(
        replicaId,
        nc,
        js,
        jsm,
        leases,
        options.interestRefreshMs ?? INTEREST_REFRESH_MS,
      );
    } catch (error) {
      await nc.close();
      throw error;
    }
  }

  async append(sessionId: string, payload: Uint8Array, dedupeId: string): Promise<AppendResult> {
    const ack = await this.js.publish(eventsSubject(sessionId), payload, { msgID: dedupeId });
    return { position: BigInt(ack.seq), duplicate: ack.duplicate };
  }

  follow(sessionId: string, after: bigint, onEvent: (event: BusEvent) => void): Following {
    let closed = false;
    let messages: ConsumerMessages | undefined;
    let consumer: Consumer | undefined;
    let last = after;
    const restart = (): void => void messages?.close();
    const close = (): void => {
      closed = true;
      // The server would keep a closed ordered consumer for minutes (its inactive threshold):
      // delete it, so consumers on the bus are the follows open now.
      void messages?.close().then(
        () => deleteConsumer(consumer),
        () => deleteConsumer(consumer),
      );
      this.closers.delete(close);
      this.restarters.delete(restart);
    };
    this.closers.add(close);
    this.restarters.add(restart);
    void (async () => {
      // An ordered consumer survives short outages by itself; after a long one its iterator
      // ends or the consumer cannot be made: start again after the last event delivered.
      while (!closed) {
        try {
          consumer = await this.js.consumers.get(EVENTS_STREAM, {
            filter_subjects: eventsSubject(sessionId),
            ...(last === 0n
              ? { deliver_policy: DeliverPolicy.All }
              : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: Number(last) + 1 }),
          });
          if (closed) return;
          messages = await consumer.consume();
          if (closed) {
            await messages.close();
            await deleteConsumer(consumer);
            return;
          }
          for await (const message of messages) {
            if (closed) return;
            const position = BigInt(message.seq);
            if (position <= last) continue;
            last = position;
            onEvent({ position, payload: message.data });
          }
        } catch {
          // NATS away or the consumer lost: retried below.
        }
        // The next round makes a new consumer: this one goes (best effort, NATS may be away).
        if (!closed) void deleteConsumer(consumer);
        if (!closed) await new Promise((resolve) => setTimeout(resolve, FOLLOW_RETRY_MS).unref());
      }
    })();
    return { close };
  }

  broadcast(sessionId: string, payload: Uint8Array): void {
    const token = sessionToken(sessionId);
    for (const deliver of this.localListeners.get(token) ?? []) deliver(payload);
    // Core NATS: at most once, nothing kept; a publish while disconnected is buffered by the client.
    if (this.remotelyWanted(token))
      this.nc.publish(latestSubject(token, this.originToken), payload);
  }

  wantsBroadcast(sessionId: string): boolean {
    const token = sessionToken(sessionId);
    return this.localListeners.has(token) || this.remotelyWanted(token);
  }

  listen(sessionId: string, onValue: (payload: Uint8Array) => void): Following {
    const token = sessionToken(sessionId);
    const ownSubject = latestSubject(token, this.originToken);
    const subscription = this.nc.subscribe(latestSubject(token, '*'), {
      callback: (error, message) => {
        // What this replica broadcasts reached its own listeners directly.
        if (error === null && message.subject !== ownSubject) onValue(message.data);
      },
    });
    let listeners = this.localListeners.get(token);
    if (listeners === undefined) this.localListeners.set(token, (listeners = new Set()));
    const deliver = (payload: Uint8Array): void => onValue(payload);
    listeners.add(deliver);
    this.nc.publish(interestSubject(token, this.originToken));
    const close = (): void => {
      subscription.unsubscribe();
      listeners.delete(deliver);
      if (listeners.size === 0 && this.localListeners.get(token) === listeners) {
        this.localListeners.delete(token);
      }
      this.closers.delete(close);
    };
    this.closers.add(close);
    return { close };
  }

  private remotelyWanted(token: string): boolean {
    const until = this.remoteInterest.get(token);
    return until !== undefined && until > Date.now();
  }

  /** Tells every replica which sessions this one listens to (owners send those values to NATS). */
  private announceInterest(): void {
    if (this.nc.isClosed() || this.nc.isDraining()) return;
    for (const token of this.localListeners.keys()) {
      this.nc.publish(interestSubject(token, this.originToken));
    }
  }

  async lastPosition(sessionId: string): Promise<bigint> {
    return (await this.lastEvent(sessionId))?.position ?? 0n;
  }

  async lastEvent(sessionId: string): Promise<BusEvent | undefined> {
    const last = await this.jsm.streams
      .getMessage(EVENTS_STREAM, { last_by_subj: eventsSubject(sessionId) })
      .catch((error: unknown) => {
        // "no message found" is an empty log; anything else (NATS away) is the caller's to see.
        if (error instanceof Error && /no message found/i.test(error.message)) return null;
        throw error;
      });
    return last === null ? undefined : { position: BigInt(last.seq), payload: last.data };
  }

  async claim(
    sessionId: string,
    options: { takeOver?: boolean } = {},
  ): Promise<SessionLease | undefined> {
    const key = sessionToken(sessionId);
    const me = Buffer.from(this.replicaId, 'utf8');
    let revision: number | undefined;
    // Two rounds: the key may vanish (expire) or change between reading and writing it.
    for (let round = 0; round < 2 && revision === undefined; round++) {
      const entry = await this.leases.get(key);
      const live = entry !== null && entry.operation === 'PUT';
      const holder = live ? Buffer.from(entry.value).toString('utf8') : undefined;
      if (live && holder !== this.replicaId && options.takeOver !== true) return undefined;
      revision = await (
        live ? this.leases.update(key, me, entry.revision) : this.leases.create(key, me)
      ).catch(unlessLostRace);
    }
    if (revision === undefined) return undefined;
    let held: number | undefined = revision;
    return {
      sessionId,
      renew: async () => {
        if (held === undefined) return false;
        // A network error propagates (the lease may still be ours); only a lost race answers false.
        held = await this.leases.update(key, me, held).catch(unlessLostRace);
        return held !== undefined;
      },
      release: async () => {
        if (held === undefined) return;
        const revisionHeld = held;
        held = undefined;
        await this.leases.delete(key, { previousSeq: revisionHeld }).catch(() => undefined);
      },
    };
  }

  async owner(sessionId: string): Promise<string | undefined> {
    const entry = await this.leases.get(sessionToken(sessionId));
    if (entry === null || entry.operation !== 'PUT') return undefined;
    return Buffer.from(entry.value).toString('utf8');
  }

  serve(kind: RequestKind, sessionId: string, handler: RequestHandler): () => void {
    const subscription: Subscription = this.nc.subscribe(requestSubject(kind, sessionId), {
      // One answer per request even if two replicas briefly serve the same session.
      queue: 'owner',
      callback: (error, message) => {
        if (error !== null) return;
        void answer(handler, message.data).then((reply) => message.respond(reply));
      },
    });
    const stop = (): void => {
      // Drained, not dropped: a request the server routed here before it saw the unsubscribe
      // is still answered (the handler says if it no longer serves), instead of timing out.
      void subscription.drain().catch(() => subscription.unsubscribe());
      this.closers.delete(stop);
    };
    this.closers.add(stop);
    return stop;
  }

  async request(
    kind: RequestKind,
    sessionId: string,
    body: Uint8Array,
    timeoutMs: number,
  ): Promise<Uint8Array> {
    try {
      const reply = await this.nc.request(requestSubject(kind, sessionId), body, {
        timeout: timeoutMs,
      });
      return decodeReply(reply.data);
    } catch (error) {
      if (error instanceof RequestError && error.isNoResponders()) {
        throw new NoOwnerError(kind, sessionId);
      }
      if (error instanceof TimeoutError || (error instanceof RequestError && isTimeout(error))) {
        throw new BusTimeoutError(kind, sessionId, timeoutMs);
      }
      throw error;
    }
  }

  async close(): Promise<void> {
    clearInterval(this.interestTimer);
    for (const close of [...this.closers]) close();
    await this.nc.drain().catch(() => this.nc.close());
  }
}

/** Deletes a follow's consumer on the server, best effort (NATS may be away; it expires then). */
function deleteConsumer(consumer: Consumer | undefined): Promise<void> {
  // A consumer that never started throws at once rather than rejecting.
  return Promise.resolve()
    .then(() => consumer?.delete())
    .then(
      () => undefined,
      () => undefined,
    );
}

function eventsSubject(sessionId: string): string {
  return `${EVENTS_SUBJECT}.${sessionToken(sessionId)}`;
}

const INTEREST_SUBJECT = 'trainwatch.interest';

function interestSubject(token: string, origin: string): string {
  return `${INTEREST_SUBJECT}.${token}.${origin}`;
}

/** Where a replica broadcasts a session's latest-wins values: its origin token last. */
function latestSubject(token: string, origin: string): string {
  return `trainwatch.latest.${token}.${origin}`;
}

function requestSubject(kind: RequestKind, sessionId: string): string {
  return `trainwatch.${kind}.${sessionToken(sessionId)}`;
}

/** Compare-and-set lost to another writer: undefined. Anything else (NATS away) is thrown on. */
function unlessLostRace(error: unknown): undefined {
  const code = error instanceof JetStreamApiError ? error.code : undefined;
  if (
    code === JetStreamApiCodes.StreamWrongLastSequence ||
    code === JetStreamApiCodes.StreamWrongLastSequenceUnknown
  ) {
    return undefined;
  }
  throw error;
}

function isTimeout(error: RequestError): boolean {
  return error.cause instanceof TimeoutError;
}

/** Creates the stream, or brings an existing one's limits to these. */
async function ensureStream(
  jsm: JetStreamManager,
  config: Partial<StreamConfig> & { name: string },
) {
  const existing = await jsm.streams.info(config.name).catch(() => undefined);
  if (existing === undefined) await jsm.streams.add(config);
  else await jsm.streams.update(config.name, config);
}

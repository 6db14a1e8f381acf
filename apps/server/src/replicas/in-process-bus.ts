import { randomUUID } from 'node:crypto';
import {
  answer,
  BusTimeoutError,
  decodeReply,
  DEFAULT_REPLICA_BUS_LIMITS,
  NoOwnerError,
  type AppendResult,
  type BusEvent,
  type Following,
  type ReplicaBus,
  type ReplicaBusLimits,
  type RequestHandler,
  type RequestKind,
  type SessionLease,
} from './replica-bus';

/**
 * Dedupe ids remembered at most, whatever the window: a burst of appends
 * must not grow the map without bound (the oldest are forgotten first).
 */
export const IN_PROCESS_MAX_DEDUPE_IDS = 100_000;

interface Lease {
  replicaId: string;
  expiresAtMs: number;
  /** Bumped on every claim, so a lease object from an older claim can tell it lost. */
  generation: number;
}

/**
 * The state in-process replicas share: one per process in the embedded
 * default (a single replica), several buses on one hub in the contract tests.
 */
export class InProcessHub {
  readonly logs = new Map<string, BusEvent[]>();
  readonly followers = new Map<string, Set<(event: BusEvent) => void>>();
  readonly listeners = new Map<string, Set<(payload: Uint8Array) => void>>();
  readonly dedupe = new Map<string, { position: bigint; atMs: number }>();
  readonly leases = new Map<string, Lease>();
  readonly handlers = new Map<string, RequestHandler>();
  nextPosition = 1n;
  generation = 0;

  constructor(
    readonly limits: ReplicaBusLimits = DEFAULT_REPLICA_BUS_LIMITS,
    readonly now: () => number = Date.now,
  ) {}
}

/** ReplicaBus inside one process: no network, same contract as the NATS engine. */
export class InProcessBus implements ReplicaBus {
  readonly replicaId: string;
  private readonly closers = new Set<() => void>();

  constructor(
    private readonly hub: InProcessHub = new InProcessHub(),
    replicaId: string = randomUUID(),
  ) {
    this.replicaId = replicaId;
  }

  append(sessionId: string, payload: Uint8Array, dedupeId: string): Promise<AppendResult> {
    const hub = this.hub;
    const now = hub.now();
    this.forgetOldDedupeIds(now);
    const seen = hub.dedupe.get(dedupeId);
    if (seen !== undefined) return Promise.resolve({ position: seen.position, duplicate: true });
    const event: BusEvent = { position: hub.nextPosition++, payload };
    hub.dedupe.set(dedupeId, { position: event.position, atMs: now });
    let log = hub.logs.get(sessionId);
    if (log === undefined) hub.logs.set(sessionId, (log = []));
    log.push(event);
    if (log.length > hub.limits.maxEventsPerSession) log.shift();
    for (const deliver of hub.followers.get(sessionId) ?? []) deliver(event);
    return Promise.resolve({ position: event.position, duplicate: false });
  }

  follow(sessionId: string, after: bigint, onEvent: (event: BusEvent) => void): Following {
    const hub = this.hub;
    for (const event of hub.logs.get(sessionId) ?? []) {
      if (event.position > after) onEvent(event);
    }
    let set = hub.followers.get(sessionId);
    if (set === undefined) hub.followers.set(sessionId, (set = new Set()));
    const deliver = (event: BusEvent): void => onEvent(event);
    set.add(deliver);
    const close = (): void => {
      set.delete(deliver);
      if (set.size === 0 && hub.followers.get(sessionId) === set) hub.followers.delete(sessionId);
      this.closers.delete(close);
    };
    this.closers.add(close);
    return { close };
  }

  broadcast(sessionId: string, payload: Uint8Array): void {
    for (const deliver of this.hub.listeners.get(sessionId) ?? []) deliver(payload);
  }

  wantsBroadcast(sessionId: string): boolean {
    return this.hub.listeners.has(sessionId);
  }

  listen(sessionId: string, onValue: (payload: Uint8Array) => void): Following {
    const hub = this.hub;
    let set = hub.listeners.get(sessionId);
    if (set === undefined) hub.listeners.set(sessionId, (set = new Set()));
    const deliver = (payload: Uint8Array): void => onValue(payload);
    set.add(deliver);
    const close = (): void => {
      set.delete(deliver);
      if (set.size === 0 && hub.listeners.get(sessionId) === set) hub.listeners.delete(sessionId);
      this.closers.delete(close);
    };
    this.closers.add(close);
    return { close };
  }

  lastPosition(sessionId: string): Promise<bigint> {
    const log = this.hub.logs.get(sessionId);
    return Promise.resolve(log?.[log.length - 1]?.position ?? 0n);
  }

  lastEvent(sessionId: string): Promise<BusEvent | undefined> {
    return Promise.resolve(this.hub.logs.get(sessionId)?.at(-1));
  }

  claim(
    sessionId: string,
    options: { takeOver?: boolean } = {},
  ): Promise<SessionLease | undefined> {
    const hub = this.hub;
    const held = this.liveLease(sessionId);
    if (held !== undefined && held.replicaId !== this.replicaId && options.takeOver !== true) {
      return Promise.resolve(undefined);
    }
    const generation = ++hub.generation;
    hub.leases.set(sessionId, {
      replicaId: this.replicaId,
      expiresAtMs: hub.now() + hub.limits.leaseTtlMs,
      generation,
    });
    const mine = (): Lease | undefined => {
      const lease = this.liveLease(sessionId);
      return lease?.generation === generation ? lease : undefined;
    };
    return Promise.resolve({
      sessionId,
      renew: () => {
        const lease = mine();
        if (lease !== undefined) lease.expiresAtMs = hub.now() + hub.limits.leaseTtlMs;
        return Promise.resolve(lease !== undefined);
      },
      release: () => {
        if (mine() !== undefined) hub.leases.delete(sessionId);
        return Promise.resolve();
      },
    });
  }

  owner(sessionId: string): Promise<string | undefined> {
    return Promise.resolve(this.liveLease(sessionId)?.replicaId);
  }

  serve(kind: RequestKind, sessionId: string, handler: RequestHandler): () => void {
    const key = `${kind}:${sessionId}`;
    this.hub.handlers.set(key, handler);
    const stop = (): void => {
      if (this.hub.handlers.get(key) === handler) this.hub.handlers.delete(key);
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
    const handler = this.hub.handlers.get(`${kind}:${sessionId}`);
    if (handler === undefined) throw new NoOwnerError(kind, sessionId);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new BusTimeoutError(kind, sessionId, timeoutMs)), timeoutMs);
    });
    try {
      return decodeReply(await Promise.race([answer(handler, body), timeout]));
    } finally {
      clearTimeout(timer);
    }
  }

  close(): Promise<void> {
    for (const close of [...this.closers]) close();
    return Promise.resolve();
  }

  private liveLease(sessionId: string): Lease | undefined {
    const lease = this.hub.leases.get(sessionId);
    if (lease === undefined) return undefined;
    if (lease.expiresAtMs <= this.hub.now()) {
      this.hub.leases.delete(sessionId);
      return undefined;
    }
    return lease;
  }

  private forgetOldDedupeIds(now: number): void {
    const { dedupe, limits } = this.hub;
    for (const [id, seen] of dedupe) {
      const tooMany = dedupe.size > IN_PROCESS_MAX_DEDUPE_IDS;
      if (!tooMany && now - seen.atMs < limits.dedupeWindowMs) break;
      dedupe.delete(id);
    }
  }
}

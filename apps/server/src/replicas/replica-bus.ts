/**
 * What server replicas share to cooperate on one set of sessions: an ordered
 * event log per session, a lease naming the replica that owns a session
 * (the one holding its trainer's stream), and request/reply addressed to
 * that owner (commands, snapshots). Two engines pass one contract suite
 * (replica-bus.contract.ts): in-process (one replica, the embedded default)
 * and NATS (several replicas: JetStream for the log, a KV bucket for leases,
 * core request/reply).
 */
export interface ReplicaBus {
  /** This replica's id: unique per process, named in leases. */
  readonly replicaId: string;

  /**
   * Appends one event to the session's log. `dedupeId` (the session and the
   * event's own number, e.g. `<session>:<cursor>`) makes a repeat within the
   * dedupe window a no-op that answers `duplicate: true` with no new
   * position. Resolves once the bus holds the event.
   */
  append(sessionId: string, payload: Uint8Array, dedupeId: string): Promise<AppendResult>;

  /**
   * Delivers the session's events with a position after `after` (0n: from
   * the oldest kept), in order, then live ones as they are appended, until
   * closed. Positions grow but are not contiguous (the log is shared by every
   * session); payloads carry their own cursor for gap checks. At most
   * `maxEventsPerSession` (engine setting) old events are kept per session.
   */
  follow(sessionId: string, after: bigint, onEvent: (event: BusEvent) => void): Following;

  /**
   * Sends a latest-wins value (an image frame) to the session's listeners on
   * every replica, now, without keeping it: a listener that joins later, or
   * is away while it is sent, never gets it. No order with the log is promised.
   */
  broadcast(sessionId: string, payload: Uint8Array): void;

  /**
   * True when a broadcast for the session would reach a listener: one on this
   * replica, or another replica that has said it listens (the NATS engine
   * hears that within one round trip of the listen, at worst within one
   * interest refresh). A value nobody wants need not be encoded or sent.
   */
  wantsBroadcast(sessionId: string): boolean;

  /** Receives what is broadcast for the session from now on, until closed. */
  listen(sessionId: string, onValue: (payload: Uint8Array) => void): Following;

  /** Position of the session's newest event, 0n when it has none. */
  lastPosition(sessionId: string): Promise<bigint>;

  /** The session's newest event, undefined when it has none (a new owner continues after it). */
  lastEvent(sessionId: string): Promise<BusEvent | undefined>;

  /**
   * Claims the session for this replica. Without `takeOver` the claim fails
   * (undefined) while another replica's lease is alive; with it (a trainer
   * came back to this replica, so the old owner has lost its stream) the
   * lease moves here and the old owner's next renew answers false.
   */
  claim(sessionId: string, options?: { takeOver?: boolean }): Promise<SessionLease | undefined>;

  /** The replica whose lease on the session is alive, or undefined. */
  owner(sessionId: string): Promise<string | undefined>;

  /**
   * Answers requests of `kind` for one session (the owner serves its
   * sessions). A handler that throws answers the requester with a
   * BusRequestError carrying its message and its numeric `code` property,
   * if it has one. Returns the function that stops serving.
   */
  serve(kind: RequestKind, sessionId: string, handler: RequestHandler): () => void;

  /**
   * Asks whoever serves `kind` for the session. Rejects with NoOwnerError
   * when nobody does, BusRequestError when the handler failed, and
   * BusTimeoutError after `timeoutMs`.
   */
  request(
    kind: RequestKind,
    sessionId: string,
    body: Uint8Array,
    timeoutMs: number,
  ): Promise<Uint8Array>;

  /** Stops every follow and serve of this replica; leases are left to expire. */
  close(): Promise<void>;
}

export interface AppendResult {
  /** Position of the event in the log (of the first copy, for a duplicate). */
  readonly position: bigint;
  readonly duplicate: boolean;
}

export interface BusEvent {
  readonly position: bigint;
  readonly payload: Uint8Array;
}

export interface Following {
  close(): void;
}

export interface SessionLease {
  readonly sessionId: string;
  /** Extends the lease; false when it was lost (expired and taken, or taken over). */
  renew(): Promise<boolean>;
  /** Gives the session up (only if this replica still holds it). */
  release(): Promise<void>;
}

/** What one replica may ask the owner of a session (`edit`: a dashboard edit that makes a watch event). */
export type RequestKind = 'command' | 'snapshot' | 'edit';

export type RequestHandler = (body: Uint8Array) => Promise<Uint8Array>;

/** No replica serves the session: its trainer is not connected anywhere. */
export class NoOwnerError extends Error {
  constructor(kind: RequestKind, sessionId: string) {
    super(`no replica serves ${kind} requests for session ${sessionId}`);
    this.name = 'NoOwnerError';
  }
}

/** The owner's handler failed; `message` and `code` are its error's. */
export class BusRequestError extends Error {
  constructor(
    message: string,
    readonly code?: number,
  ) {
    super(message);
    this.name = 'BusRequestError';
  }
}

/** The owner did not answer in time. */
export class BusTimeoutError extends Error {
  constructor(kind: RequestKind, sessionId: string, timeoutMs: number) {
    super(`the owner of session ${sessionId} did not answer a ${kind} request in ${timeoutMs} ms`);
    this.name = 'BusTimeoutError';
  }
}

/** Limits every engine honours; the NATS engine writes them into its stream and bucket. */
export interface ReplicaBusLimits {
  /** Events kept per session for followers that start behind (older ones are dropped). */
  readonly maxEventsPerSession: number;
  /** A lease not renewed for this long is dead and may be claimed by another replica. */
  readonly leaseTtlMs: number;
  /** Window in which an append with the same dedupe id is a no-op. */
  readonly dedupeWindowMs: number;
}

export const DEFAULT_REPLICA_BUS_LIMITS: ReplicaBusLimits = {
  maxEventsPerSession: 10_000,
  leaseTtlMs: 10_000,
  dedupeWindowMs: 120_000,
};

/**
 * Session ids may hold `.` and `:` (SESSION_ID_PATTERN), which NATS subjects
 * and KV keys reserve; base64url keeps every id distinct and safe in both.
 */
export function sessionToken(sessionId: string): string {
  return Buffer.from(sessionId, 'utf8').toString('base64url');
}

/** Reply envelope of request/reply: one status byte, then the body or the error text. */
export const REPLY_OK = 0;
export const REPLY_ERROR = 1;

export function encodeReply(status: number, body: Uint8Array): Uint8Array {
  const framed = new Uint8Array(body.length + 1);
  framed[0] = status;
  framed.set(body, 1);
  return framed;
}

/** The body of an OK reply; throws BusRequestError for an error reply. */
export function decodeReply(framed: Uint8Array): Uint8Array {
  if (framed.length === 0) throw new BusRequestError('empty reply from the owner');
  const body = framed.subarray(1);
  if (framed[0] === REPLY_OK) return body;
  const { message, code } = JSON.parse(Buffer.from(body).toString('utf8')) as {
    message: string;
    code?: number;
  };
  throw new BusRequestError(message, code);
}

/** Runs a handler and wraps its answer or its error (message and numeric code) in the reply envelope. */
export async function answer(handler: RequestHandler, body: Uint8Array): Promise<Uint8Array> {
  try {
    return encodeReply(REPLY_OK, await handler(body));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const code = (error as { code?: unknown } | null)?.code;
    const failure = { message, ...(typeof code === 'number' ? { code } : {}) };
    return encodeReply(REPLY_ERROR, Buffer.from(JSON.stringify(failure), 'utf8'));
  }
}

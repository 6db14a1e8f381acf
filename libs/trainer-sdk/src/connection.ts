import * as grpc from '@grpc/grpc-js';
import { create } from '@bufbuild/protobuf';
import {
  MetricsRequestSchema,
  TelemetryService,
  toGrpcMethodDefinition,
  type MetricsRequest,
  type MetricsResponse,
  type SessionInfo,
  type SessionResponse,
} from '@trainwatch/proto';
import { backoffDelay, type ReconnectOptions } from './backoff';
import type { Outbox } from './outbox';
import { readFileSync } from 'node:fs';
import type { TerminationReason, TlsOption } from './types';

const registerMethod = toGrpcMethodDefinition(TelemetryService.method.registerTrainingSession);
const streamMethod = toGrpcMethodDefinition(TelemetryService.method.streamMetrics);

/** How long one registration attempt may take before it counts as failed. */
const REGISTER_DEADLINE_MS = 10_000;

/** Call metadata that proves a stream comes from the trainer holding the session. */
export const RESUME_TOKEN_METADATA = 'trainwatch-resume-token';

/**
 * gRPC codes with which the server ends a session for good; retrying cannot
 * help: ALREADY_EXISTS, another trainer holds the session; ABORTED, a newer
 * stream presenting this session's token replaced this one.
 */
export function terminationReason(code: grpc.status | undefined): TerminationReason | undefined {
  if (code === grpc.status.ALREADY_EXISTS) return 'session-taken';
  if (code === grpc.status.ABORTED) return 'replaced';
  // A missing, wrong or revoked key, or another key's session: retrying cannot help.
  if (code === grpc.status.UNAUTHENTICATED || code === grpc.status.PERMISSION_DENIED) {
    return 'not-authorized';
  }
  return undefined;
}

/** How the connection reaches the server: credentials, channel options and the key it presents. */
export interface ConnectionSecurity {
  credentials: grpc.ChannelCredentials;
  /** Extra channel options (the TLS server name override). */
  channelOptions: grpc.ChannelOptions;
  /** Sent as `authorization: Bearer <key>` on both rpcs; '' sends none. */
  apiKey: string;
}

/** Resolves TrainingSessionOptions.tls and .apiKey; reads the CA file now so a bad path fails at once. */
export function connectionSecurity(
  tls: TlsOption | undefined,
  apiKey: string | undefined,
): ConnectionSecurity {
  const key = apiKey ?? process.env['TRAINWATCH_API_KEY'] ?? '';
  if (tls === undefined || tls === false) {
    return { credentials: grpc.credentials.createInsecure(), channelOptions: {}, apiKey: key };
  }
  const { caFile, serverName } = tls === true ? {} : tls;
  let ca: Buffer | null = null;
  if (caFile !== undefined) {
    try {
      ca = readFileSync(caFile);
    } catch (error) {
      throw new Error(`tls.caFile ${caFile} cannot be read: ${(error as Error).message}`);
    }
  }
  return {
    credentials: grpc.credentials.createSsl(ca),
    channelOptions:
      serverName === undefined
        ? {}
        : { 'grpc.ssl_target_name_override': serverName, 'grpc.default_authority': serverName },
    apiKey: key,
  };
}

/** What the connection needs from the session that owns it. */
export interface ConnectionHooks {
  /** The SessionInfo to register with (called on every attempt). */
  sessionInfo(): SessionInfo;
  /** The server answered a registration; runs before anything is written. */
  onRegistered(response: SessionResponse): void;
  onResponse(response: MetricsResponse): void;
  /** A registration attempt failed or an open stream ended. */
  onDisconnected(reason: string, cause?: unknown): void;
  /** The server refused the session for good; no more attempts follow. */
  onTerminated(reason: TerminationReason, message: string): void;
}

/** Counters the connection keeps. */
export interface ConnectionCounters {
  sent: number;
  replayed: number;
  heartbeats: number;
}

/**
 * grpc-js channel settings, each chosen on purpose. The SDK owns retries and
 * buffering, so grpc-js' own are kept out of the way.
 */
export function channelOptions(reconnect: Required<ReconnectOptions>): grpc.ChannelOptions {
  return {
    // Notice a silently dead connection (no RST) within ~40 s even if writes stall.
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
    // Let the channel reconnect on our schedule instead of its default of up to 120 s.
    'grpc.initial_reconnect_backoff_ms': reconnect.initialDelayMs,
    'grpc.max_reconnect_backoff_ms': reconnect.maxDelayMs,
    // Retries of a streaming call would buffer messages outside our bound; we replay ourselves.
    'grpc.enable_retries': 0,
    // Responses are acks and commands: small. Refuse anything absurd.
    'grpc.max_receive_message_length': 4 * 1024 * 1024,
    // The server's max_message_bytes is enforced per message before writing; this is a backstop.
    'grpc.max_send_message_length': 64 * 1024 * 1024,
  };
}

/**
 * One session's link to the server: registers (and re-registers with
 * backoff), keeps one StreamMetrics stream open, writes the outbox in order
 * while the stream is writable, and sends heartbeats. Never throws to its
 * caller; failures go to `hooks.onDisconnected`.
 */
export class Connection {
  private readonly client: grpc.Client;
  private call: grpc.ClientDuplexStream<MetricsRequest, MetricsResponse> | undefined;
  private waitingForDrain = false;
  private pumpScheduled = false;
  private closed = false;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private heartbeatNumber = 0n;
  private heartbeatIntervalMs = 0;
  /** The id every message is stamped with (the server's answer wins). */
  sessionId: string;
  /** The server's SessionResponse.resume_token, kept across reconnects ('' until registered). */
  resumeToken = '';
  /** Why the server ended the session for good, once it has. */
  terminated: string | undefined;
  readonly counters: ConnectionCounters = { sent: 0, replayed: 0, heartbeats: 0 };

  constructor(
    address: string,
    sessionId: string,
    private readonly outbox: Outbox,
    private readonly reconnect: Required<ReconnectOptions>,
    private readonly hooks: ConnectionHooks,
    private readonly security: ConnectionSecurity = connectionSecurity(undefined, undefined),
  ) {
    this.sessionId = sessionId;
    this.client = new grpc.Client(address, security.credentials, {
      ...channelOptions(reconnect),
      ...security.channelOptions,
    });
  }

  /** Call metadata with the API key, when there is one (never logged). */
  private metadata(): grpc.Metadata {
    const metadata = new grpc.Metadata();
    if (this.security.apiKey !== '')
      metadata.set('authorization', `Bearer ${this.security.apiKey}`);
    return metadata;
  }

  /** True while a stream is open after a successful registration. */
  get connected(): boolean {
    return this.call !== undefined;
  }

  /** Starts the register-then-stream cycle in the background. */
  start(): void {
    void this.attempt();
  }

  private async attempt(): Promise<void> {
    this.retryTimer = undefined;
    if (this.closed || this.terminated !== undefined) return;
    let response: SessionResponse;
    try {
      response = await this.register();
      if (!response.success) throw new Error(`registration refused: ${response.message}`);
    } catch (error) {
      const reason = terminationReason((error as Partial<grpc.ServiceError>).code);
      if (reason !== undefined) {
        this.terminate(reason, `registration refused: ${describe(error)}`);
        return;
      }
      this.retry(`registration failed: ${describe(error)}`, error);
      return;
    }
    if (this.closed) return;
    if (response.sessionId !== '') this.sessionId = response.sessionId;
    if (response.resumeToken !== '') this.resumeToken = response.resumeToken;
    this.failures = 0;
    this.hooks.onRegistered(response);
    this.openStream(response.serverConfig?.heartbeatIntervalMs ?? 0);
  }

  /**
   * Registers again on the open session without touching its stream (the
   * resume token proves it is the same trainer), so the server learns a
   * changed SessionInfo, e.g. new custom commands. A no-op while not
   * registered: the next registration carries the change anyway.
   */
  async refreshRegistration(): Promise<void> {
    if (this.closed || this.terminated !== undefined || this.call === undefined) return;
    const response = await this.register();
    if (!response.success) throw new Error(`registration refused: ${response.message}`);
  }

  private register(): Promise<SessionResponse> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        registerMethod.path,
        registerMethod.requestSerialize,
        registerMethod.responseDeserialize,
        this.hooks.sessionInfo(),
        this.metadata(),
        { deadline: Date.now() + REGISTER_DEADLINE_MS },
        (error, value) => (error || !value ? reject(error ?? new Error('empty')) : resolve(value)),
      );
    });
  }

  private openStream(heartbeatIntervalMs: number): void {
    const metadata = this.metadata();
    if (this.resumeToken !== '') metadata.set(RESUME_TOKEN_METADATA, this.resumeToken);
    const call = this.client.makeBidiStreamRequest(
      streamMethod.path,
      streamMethod.requestSerialize,
      streamMethod.responseDeserialize,
      metadata,
      {},
    );
    this.call = call;
    this.waitingForDrain = false;
    this.heartbeatNumber = 0n;
    call.on('data', (response: MetricsResponse) => this.hooks.onResponse(response));
    call.on('drain', () => {
      this.waitingForDrain = false;
      this.pump();
    });
    // grpc-js emits 'error' for any non-OK end; 'status' always follows the end.
    call.on('error', (error: grpc.ServiceError) =>
      this.lost(call, `stream failed: ${describe(error)}`, error, error.code),
    );
    call.on('status', (status: grpc.StatusObject) =>
      this.lost(
        call,
        `stream ended: ${grpc.status[status.code]} ${status.details}`.trim(),
        undefined,
        status.code,
      ),
    );
    this.heartbeatIntervalMs = heartbeatIntervalMs;
    if (heartbeatIntervalMs > 0) {
      this.heartbeatTimer = setInterval(() => this.heartbeat(), heartbeatIntervalMs);
      this.heartbeatTimer.unref();
    }
    const sent = this.counters.sent;
    this.pump();
    // The server closes a stream that names no session within its bind
    // timeout: with nothing queued, a heartbeat names it right away.
    if (this.counters.sent === sent) this.heartbeat();
  }

  private lost(
    call: grpc.ClientDuplexStream<MetricsRequest, MetricsResponse>,
    reason: string,
    cause?: unknown,
    code?: grpc.status,
  ): void {
    // A stream this connection already replaced (its own reconnect) ends
    // ABORTED too; only the current stream's end counts.
    if (this.call !== call) return;
    this.call = undefined;
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    if (this.closed) return;
    const terminal = terminationReason(code);
    if (terminal !== undefined) {
      this.terminate(terminal, reason);
      return;
    }
    this.retry(reason, cause);
  }

  /** Stops for good: no retry timer, no stream; the session reports why. */
  private terminate(reason: TerminationReason, message: string): void {
    this.terminated = message;
    clearTimeout(this.retryTimer);
    this.hooks.onTerminated(reason, message);
  }

  private retry(reason: string, cause?: unknown): void {
    this.hooks.onDisconnected(reason, cause);
    if (this.closed) return;
    const delay = backoffDelay(this.failures++, this.reconnect);
    this.retryTimer = setTimeout(() => void this.attempt(), delay);
  }

  /**
   * Pumps on the next turn of the event loop, once however many messages were
   * queued meanwhile: a log call only enqueues, and serialization and the
   * socket write happen off the training loop's call path.
   */
  schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /** Writes unsent messages in order until the stream pushes back; resumes on 'drain'. */
  pump(): void {
    const call = this.call;
    if (call === undefined || this.waitingForDrain) return;
    for (let entry = this.outbox.peekUnsent(); entry; entry = this.outbox.peekUnsent()) {
      entry.request.sessionId = this.sessionId;
      if (entry.writes > 0) this.counters.replayed++;
      this.outbox.markSent(entry);
      this.counters.sent++;
      if (!call.write(entry.request)) {
        this.waitingForDrain = true;
        return;
      }
    }
  }

  private heartbeat(): void {
    // Heartbeats are not buffered: one that cannot go now is simply skipped.
    if (this.call === undefined || this.waitingForDrain) return;
    this.heartbeatNumber++;
    this.counters.heartbeats++;
    this.call.write(
      create(MetricsRequestSchema, {
        sessionId: this.sessionId,
        timestampMs: BigInt(Date.now()),
        sequence: 0n,
        payload: { case: 'heartbeat', value: { sequenceNumber: this.heartbeatNumber } },
      }),
    );
  }

  /** The server's heartbeat interval on the current connection (0 before registration). */
  get heartbeatMs(): number {
    return this.heartbeatIntervalMs;
  }

  /**
   * Ends the stream (half-close, so the server sees a clean end), waits up to
   * `timeoutMs` for the server to finish it, then releases the channel.
   */
  async close(timeoutMs: number): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.heartbeatTimer);
    const call = this.call;
    if (call !== undefined) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          call.cancel();
          resolve();
        }, timeoutMs);
        call.once('status', () => {
          clearTimeout(timer);
          resolve();
        });
        call.end();
      });
      this.call = undefined;
    }
    this.client.close();
  }
}

function describe(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  // grpc-js appends an empty "Resolution note:" to connection errors; it says nothing.
  return text.replace(/\s*Resolution note:\s*$/, '');
}

import { DEFAULT_MAX_METRICS_PER_MESSAGE, DEFAULT_MAX_SERIES } from '@trainwatch/proto';

/** The largest HTTP/2 flow-control window (2^31 − 1), the bound of GRPC_RECEIVE_WINDOW_BYTES. */
const HTTP2_MAX_WINDOW_BYTES = 2 ** 31 - 1;

/**
 * Every setting the server reads, from environment variables with defaults.
 * Deployment files (docker-compose.yml, envoy.yaml) are checked against this
 * module by tests, so names and default ports live here and nowhere else.
 */

/** Port of the native gRPC listener (trainers, and dashboards over gRPC). */
export const DEFAULT_GRPC_PORT = 50051;
/** Port of the HTTP listener (SPA, gRPC-Web, /healthz, /metrics). */
export const DEFAULT_HTTP_PORT = 8080;

export interface ServerSettings {
  /** Interface both listeners bind to. */
  host: string;
  grpcPort: number;
  httpPort: number;
  /** Most images one batch may carry (ServerConfig.max_batch_size). */
  maxImagesPerBatch: number;
  /** Largest image side in pixels (ServerConfig.max_image_dimension). */
  maxImageDimension: number;
  /** How often trainers send heartbeats (ServerConfig.heartbeat_interval_ms). */
  heartbeatIntervalMs: number;
  /** Messages a trainer SDK may buffer (ServerConfig.buffer_size). */
  trainerBufferSize: number;
  /** Largest accepted gRPC message, bytes; larger ones get RESOURCE_EXHAUSTED. */
  maxMessageBytes: number;
  /** Scalar events queued per watcher before that watcher is closed. */
  watcherQueueSize: number;
  /** Points kept in a session's downsampled loss history. */
  lossHistoryPoints: number;
  /** Points kept of any other series, while few series share SERIES_HISTORY_POINTS_TOTAL. */
  seriesHistoryPoints: number;
  /** Points kept across a session's series other than loss (each keeps at least 16). */
  seriesHistoryPointsTotal: number;
  /** Distinct series one session may have, loss included (ServerConfig.max_series). */
  maxSeriesPerSession: number;
  /** Named values one message may carry (ServerConfig.max_metrics_per_message). */
  maxMetricsPerMessage: number;
  /** Entries kept in a session's command audit log. */
  commandAuditSize: number;
  /** Sessions kept in memory; the oldest finished ones are evicted first. */
  maxSessions: number;
  /**
   * Bytes of image frames the server holds for snapshots, across all sessions;
   * past it the least recently useful frames are dropped (images/image-budget.ts).
   */
  imageMemoryBudgetBytes: number;
  /** How long a StreamMetrics stream may stay open without sending its first message. */
  streamBindTimeoutMs: number;
  /** How long SendCommand waits for the trainer's result by default. */
  commandTimeoutMs: number;
  /** Heartbeats missed before a session is marked stale. */
  staleAfterMissedHeartbeats: number;
  /** Bound on graceful shutdown before the process exits anyway. */
  shutdownTimeoutMs: number;
  /** Directory holding the built SPA; empty disables static serving. */
  webDistDir: string;
  /** Origins allowed to call gRPC-Web from another origin (exact; '*' for any, never with credentials). */
  corsOrigins: string[];
  /** Largest HTTP request body, bytes; checked before anything is buffered. */
  httpMaxRequestBytes: number;
  /** Connections the HTTP listener holds at once; more are closed on accept. */
  httpMaxConnections: number;
  /**
   * Where runs are kept: SQLite in dataDir (the default), PostgreSQL at
   * databaseUrl, or nowhere ('memory': nothing survives a restart).
   */
  storeEngine: StoreEngineSetting;
  /** Directory of the SQLite database (relative to the working directory). */
  dataDir: string;
  /** postgres:// URL; setting it selects PostgreSQL unless STORE_ENGINE says otherwise. */
  databaseUrl: string;
  /**
   * PostgreSQL: the folder (shared by every replica) whose segment files
   * hold image frames instead of their rows; '' keeps frames in PostgreSQL.
   */
  framesDir: string;
  /** Group commit: at most this long between a message and the commit that holds it (plus the commit). */
  storeFlushIntervalMs: number;
  /**
   * Explore and compare: bytes of QuerySeries answers of finished runs kept
   * for the next asker (estimated from their buckets); 0 keeps none.
   */
  seriesCacheBytes: number;
  /**
   * Bytes of applied messages waiting for a commit, all trainers together;
   * past it trainer streams stop being read until the store catches up.
   */
  storeMaxPendingBytes: number;
  /** Image frame bytes one run keeps in the store; past it older frames are thinned harder. */
  storeImageBytesPerRun: number;
  /**
   * Store throughput (SQLite): commits run on a thread with its own
   * connection, off the event loop (STORE_WRITE_THREAD=1, the default).
   */
  storeWriteThread: boolean;
  /** Runs not updated for this many days are deleted; 0 keeps every run. */
  retentionDays: number;
  // Teams and auth (auth/): who may call what.
  /** 'off': every caller is an anonymous admin (loopback only); 'required': keys and sign-in. */
  auth: AuthMode;
  /** Lets AUTH=off listen on a non-loopback HOST (ALLOW_INSECURE_NETWORK=1). */
  allowInsecureNetwork: boolean;
  /** Secret that creates the first admin while there are no users ('' prints a one-time one). */
  adminToken: string;
  /** How long a sign-in session token is accepted. */
  authSessionTtlMs: number;
  /** StreamMetrics opens one API key may make per minute (0: no limit). */
  keyStreamOpensPerMinute: number;
  /** Trainer messages per second one API key may send across its streams (0: no limit). */
  keyMessagesPerSecond: number;
  /** Trainer message bytes per second one API key may send across its streams (0: no limit). */
  keyBytesPerSecond: number;
  /** How often open streams' keys and sign-in sessions are checked again (revoked or signed out: cut). */
  authRecheckMs: number;
  /** PEM certificate chain for gRPC and HTTPS ('' serves plaintext); set with tlsKeyFile. */
  tlsCertFile: string;
  /** PEM private key of tlsCertFile. */
  tlsKeyFile: string;
  // --- Watchdog and alerts ---
  /** Shortest time without a batch that counts as a stall (the stall rule's window default). */
  watchdogStallMinMs: number;
  /** How often time-based rules (stall, GPU idle) are checked. */
  watchdogCheckIntervalMs: number;
  /** Webhook URLs every alert of this deployment is posted to. */
  webhookUrls: string[];
  /** First webhook retry delay; each further retry waits twice as long. */
  webhookRetryBaseMs: number;
  // --- Alerts kept and per-session webhooks ---
  /** Hosts per-session webhook URLs may point at (`*.example.com`, `*` for any); empty refuses them. */
  webhookAllowedHosts: string[];
  // --- Per-class accuracy series ---
  /**
   * Largest class count whose runs get `class_acc/<class>` epoch series (0: none), so a
   * 1,000-class run does not make 1,000 series; its dashboards read accuracy from the matrix rows.
   */
  classAccuracyMaxClasses: number;
  // --- Replicas (replicas/) ---
  /** nats:// URL(s) of the NATS server replicas share ('' keeps everything in this process). */
  natsUrl: string;
  /** A replica that stops renewing a session's lease for this long loses it. */
  replicaLeaseTtlMs: number;
  /** Events kept per session in the shared log (a watcher's resume reaches this far back). */
  busEventsPerSession: number;
  /** Events one session may have waiting to reach the shared log; past it watchers elsewhere resync. */
  busPublishQueue: number;
  // --- Native gRPC flow control (common/grpc-flow-control.ts) ---
  /**
   * HTTP/2 receive window of each gRPC connection and stream, bytes: what a peer may send
   * before waiting for our WINDOW_UPDATE, and what one connection can make us buffer.
   */
  grpcReceiveWindowBytes: number;
}

/** AUTH: whether callers must authenticate. */
export type AuthMode = 'off' | 'required';

/** True for an address only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Where runs are kept (STORE_ENGINE). */
export type StoreEngineSetting = 'sqlite' | 'postgres' | 'memory';
const STORE_ENGINES: readonly StoreEngineSetting[] = ['sqlite', 'postgres', 'memory'];

/** Names of every environment variable the server reads (checked by deploy tests). */
export const SERVER_ENV_VARS = [
  'HOST',
  'GRPC_PORT',
  'HTTP_PORT',
  'MAX_IMAGES_PER_BATCH',
  'MAX_IMAGE_DIMENSION',
  'HEARTBEAT_INTERVAL_MS',
  'TRAINER_BUFFER_SIZE',
  'MAX_MESSAGE_BYTES',
  'WATCHER_QUEUE_SIZE',
  'LOSS_HISTORY_POINTS',
  'SERIES_HISTORY_POINTS',
  'SERIES_HISTORY_POINTS_TOTAL',
  'MAX_SERIES_PER_SESSION',
  'MAX_METRICS_PER_MESSAGE',
  'COMMAND_AUDIT_SIZE',
  'MAX_SESSIONS',
  'IMAGE_MEMORY_BUDGET_BYTES',
  'STREAM_BIND_TIMEOUT_MS',
  'COMMAND_TIMEOUT_MS',
  'STALE_AFTER_MISSED_HEARTBEATS',
  'SHUTDOWN_TIMEOUT_MS',
  'WEB_DIST_DIR',
  'CORS_ORIGINS',
  'HTTP_MAX_REQUEST_BYTES',
  'HTTP_MAX_CONNECTIONS',
  'STORE_ENGINE',
  'DATA_DIR',
  'DATABASE_URL',
  'FRAMES_DIR',
  'STORE_FLUSH_INTERVAL_MS',
  'STORE_MAX_PENDING_BYTES',
  'STORE_IMAGE_BYTES_PER_RUN',
  // Store throughput: commits run by a thread of their own (SQLite).
  'STORE_WRITE_THREAD',
  'RETENTION_DAYS',
  // Explore and compare.
  'SERIES_CACHE_BYTES',
  // Teams and auth.
  'AUTH',
  'ALLOW_INSECURE_NETWORK',
  'ADMIN_TOKEN',
  'AUTH_SESSION_TTL_MS',
  'KEY_STREAM_OPENS_PER_MINUTE',
  'KEY_MESSAGES_PER_SECOND',
  'KEY_BYTES_PER_SECOND',
  'AUTH_RECHECK_MS',
  'TLS_CERT_FILE',
  'TLS_KEY_FILE',
  'WATCHDOG_STALL_MIN_MS',
  'WATCHDOG_CHECK_INTERVAL_MS',
  'WEBHOOK_URLS',
  'WEBHOOK_ALLOWED_HOSTS',
  'WEBHOOK_RETRY_BASE_MS',
  // Per-class accuracy series.
  'CLASS_ACCURACY_MAX_CLASSES',
  // Replicas.
  'NATS_URL',
  'REPLICA_LEASE_TTL_MS',
  'BUS_EVENTS_PER_SESSION',
  'BUS_PUBLISH_QUEUE',
  // Native gRPC flow control.
  'GRPC_RECEIVE_WINDOW_BYTES',
] as const;

export type ServerEnvVar = (typeof SERVER_ENV_VARS)[number];

/** A setting that could not be parsed; names the variable and the bad value. */
export class ConfigError extends Error {
  constructor(
    readonly variable: ServerEnvVar,
    readonly value: string,
    expected: string,
  ) {
    super(`${variable}=${JSON.stringify(value)} is invalid: expected ${expected}`);
    this.name = 'ConfigError';
  }
}

type Env = Partial<Record<string, string | undefined>>;

function integer(env: Env, name: ServerEnvVar, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(name, raw, `an integer from ${min} to ${max}`);
  }
  return value;
}

function text(env: Env, name: ServerEnvVar, fallback: string): string {
  const raw = env[name];
  return raw === undefined || raw.trim() === '' ? fallback : raw.trim();
}

/** WEBHOOK_URLS: comma-separated http(s) URLs. */
function webhookUrls(env: Env): string[] {
  const urls = text(env, 'WEBHOOK_URLS', '')
    .split(',')
    .map((url) => url.trim())
    .filter((url) => url !== '');
  for (const url of urls) {
    if (!/^https?:\/\/[^\s]+$/.test(url)) {
      throw new ConfigError('WEBHOOK_URLS', url, 'comma-separated http:// or https:// URLs');
    }
  }
  return urls;
}

/** WEBHOOK_ALLOWED_HOSTS: comma-separated host names, `*.domain` or `*`. */
function webhookAllowedHosts(env: Env): string[] {
  const hosts = text(env, 'WEBHOOK_ALLOWED_HOSTS', '')
    .split(',')
    .map((host) => host.trim().toLowerCase())
    .filter((host) => host !== '');
  for (const host of hosts) {
    if (!/^(\*|(\*\.)?[a-z0-9.:[\]-]+)$/.test(host)) {
      throw new ConfigError(
        'WEBHOOK_ALLOWED_HOSTS',
        host,
        'comma-separated host names, *.domain for its subdomains, or *',
      );
    }
  }
  return hosts;
}

function storeEngine(env: Env, databaseUrl: string): StoreEngineSetting {
  const raw = env['STORE_ENGINE'];
  if (raw === undefined || raw.trim() === '') return databaseUrl === '' ? 'sqlite' : 'postgres';
  const value = raw.trim() as StoreEngineSetting;
  if (!STORE_ENGINES.includes(value)) {
    throw new ConfigError('STORE_ENGINE', raw, `one of ${STORE_ENGINES.join(', ')}`);
  }
  if (value === 'postgres' && databaseUrl === '') {
    throw new ConfigError('STORE_ENGINE', raw, 'sqlite or memory when DATABASE_URL is not set');
  }
  return value;
}

function postgresUrl(env: Env): string {
  const url = text(env, 'DATABASE_URL', '');
  if (url !== '' && !/^postgres(ql)?:\/\//.test(url)) {
    throw new ConfigError('DATABASE_URL', url, 'a postgres:// or postgresql:// URL');
  }
  return url;
}

function authMode(env: Env): AuthMode {
  const value = text(env, 'AUTH', 'off');
  if (value !== 'off' && value !== 'required') {
    throw new ConfigError('AUTH', value, 'off or required');
  }
  return value;
}

function flag(env: Env, name: ServerEnvVar, fallback: '0' | '1' = '0'): boolean {
  const value = text(env, name, fallback);
  if (value !== '0' && value !== '1') throw new ConfigError(name, value, '0 or 1');
  return value === '1';
}

/**
 * HOST: loopback unless auth is on. AUTH=off on an address other machines can
 * reach would let anyone stop anybody's run, so it is refused unless the
 * operator says so with ALLOW_INSECURE_NETWORK=1.
 */
function listenHost(env: Env, auth: AuthMode): string {
  const given = text(env, 'HOST', auth === 'off' ? '127.0.0.1' : '0.0.0.0');
  // An IPv6 address may come in brackets, as in a URL: [::1].
  const host = /^\[.*\]$/.test(given) ? given.slice(1, -1) : given;
  if (auth === 'off' && !isLoopbackHost(host) && !flag(env, 'ALLOW_INSECURE_NETWORK')) {
    throw new ConfigError(
      'HOST',
      host,
      'a loopback address while AUTH=off (set AUTH=required, or ALLOW_INSECURE_NETWORK=1 to serve without auth anyway)',
    );
  }
  return host;
}

/**
 * CORS_ORIGINS: `*`, or origins as a browser sends them (`https://host[:port]`,
 * no path). `https://b.example/` is taken as `https://b.example`; an entry
 * with a path, or that is no URL, is refused: it would never match.
 */
function corsOrigins(env: Env): string[] {
  const given = text(env, 'CORS_ORIGINS', '');
  const origins: string[] = [];
  for (const entry of given.split(',').map((origin) => origin.trim())) {
    if (entry === '' || entry === '*') {
      if (entry === '*') origins.push(entry);
      continue;
    }
    let url: URL | undefined;
    try {
      url = new URL(entry);
    } catch {
      url = undefined;
    }
    if (
      url === undefined ||
      !['http:', 'https:'].includes(url.protocol) ||
      url.pathname !== '/' ||
      url.search !== '' ||
      url.hash !== '' ||
      url.username !== ''
    ) {
      throw new ConfigError(
        'CORS_ORIGINS',
        given,
        `\`*\` or comma-separated origins such as https://dashboard.example:8443 (scheme, host and port only), not ${JSON.stringify(entry)}`,
      );
    }
    origins.push(url.origin);
  }
  return origins;
}

/** TLS_CERT_FILE and TLS_KEY_FILE: both or neither. */
function tlsFiles(env: Env): { tlsCertFile: string; tlsKeyFile: string } {
  const tlsCertFile = text(env, 'TLS_CERT_FILE', '');
  const tlsKeyFile = text(env, 'TLS_KEY_FILE', '');
  if ((tlsCertFile === '') !== (tlsKeyFile === '')) {
    const [missing, given] =
      tlsCertFile === '' ? ['TLS_CERT_FILE', tlsKeyFile] : ['TLS_KEY_FILE', tlsCertFile];
    throw new ConfigError(
      missing as ServerEnvVar,
      '',
      `a PEM file path, since ${given} is set for the other`,
    );
  }
  return { tlsCertFile, tlsKeyFile };
}

/** Reads settings from `env` (normally `process.env`); throws ConfigError on bad values. */
export function loadServerConfig(env: Env = process.env): ServerSettings {
  const heartbeatIntervalMs = integer(env, 'HEARTBEAT_INTERVAL_MS', 2000, 50, 600_000);
  const databaseUrl = postgresUrl(env);
  const auth = authMode(env);
  const engine = storeEngine(env, databaseUrl);
  if (auth === 'required' && engine === 'memory') {
    throw new ConfigError(
      'AUTH',
      'required',
      'off when STORE_ENGINE=memory (users and keys live in the store)',
    );
  }
  return {
    host: listenHost(env, auth),
    grpcPort: integer(env, 'GRPC_PORT', DEFAULT_GRPC_PORT, 0, 65535),
    httpPort: integer(env, 'HTTP_PORT', DEFAULT_HTTP_PORT, 0, 65535),
    maxImagesPerBatch: integer(env, 'MAX_IMAGES_PER_BATCH', 16, 0, 1024),
    maxImageDimension: integer(env, 'MAX_IMAGE_DIMENSION', 512, 1, 8192),
    heartbeatIntervalMs,
    trainerBufferSize: integer(env, 'TRAINER_BUFFER_SIZE', 1000, 1, 1_000_000),
    maxMessageBytes: integer(env, 'MAX_MESSAGE_BYTES', 8 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    watcherQueueSize: integer(env, 'WATCHER_QUEUE_SIZE', 4096, 1, 10_000_000),
    lossHistoryPoints: integer(env, 'LOSS_HISTORY_POINTS', 4000, 16, 1_000_000),
    seriesHistoryPoints: integer(env, 'SERIES_HISTORY_POINTS', 4000, 16, 1_000_000),
    // 100,000 points (~2.4 MB in a snapshot) keep 25 series at full resolution, 1,000 at 100 points.
    seriesHistoryPointsTotal: integer(env, 'SERIES_HISTORY_POINTS_TOTAL', 100_000, 16, 100_000_000),
    maxSeriesPerSession: integer(env, 'MAX_SERIES_PER_SESSION', DEFAULT_MAX_SERIES, 1, 100_000),
    maxMetricsPerMessage: integer(
      env,
      'MAX_METRICS_PER_MESSAGE',
      DEFAULT_MAX_METRICS_PER_MESSAGE,
      1,
      100_000,
    ),
    commandAuditSize: integer(env, 'COMMAND_AUDIT_SIZE', 200, 1, 1_000_000),
    maxSessions: integer(env, 'MAX_SESSIONS', 1000, 1, 1_000_000),
    imageMemoryBudgetBytes: integer(
      env,
      'IMAGE_MEMORY_BUDGET_BYTES',
      256 * 1024 * 1024,
      0,
      64 * 1024 * 1024 * 1024,
    ),
    // An SDK with nothing queued sends its first heartbeat one interval after opening the stream.
    streamBindTimeoutMs: integer(
      env,
      'STREAM_BIND_TIMEOUT_MS',
      Math.max(10_000, 2 * heartbeatIntervalMs),
      heartbeatIntervalMs + 1,
      3_600_000,
    ),
    commandTimeoutMs: integer(env, 'COMMAND_TIMEOUT_MS', 10_000, 10, 3_600_000),
    staleAfterMissedHeartbeats: integer(env, 'STALE_AFTER_MISSED_HEARTBEATS', 3, 1, 1000),
    shutdownTimeoutMs: integer(env, 'SHUTDOWN_TIMEOUT_MS', 5000, 0, 600_000),
    webDistDir: text(env, 'WEB_DIST_DIR', 'dist/apps/web'),
    // Same origin only by default: the SPA is served from this listener.
    corsOrigins: corsOrigins(env),
    // DashboardService requests are a few hundred bytes; 64 KiB leaves room for long ids and notes.
    httpMaxRequestBytes: integer(env, 'HTTP_MAX_REQUEST_BYTES', 64 * 1024, 1024, 16 * 1024 * 1024),
    httpMaxConnections: integer(env, 'HTTP_MAX_CONNECTIONS', 1024, 1, 1_000_000),
    storeEngine: engine,
    dataDir: text(env, 'DATA_DIR', 'data'),
    databaseUrl,
    framesDir: framesDir(env, engine),
    // A few tens of milliseconds: acks wait this long at most, and one commit covers every message since.
    storeFlushIntervalMs: integer(env, 'STORE_FLUSH_INTERVAL_MS', 20, 1, 10_000),
    storeMaxPendingBytes: integer(
      env,
      'STORE_MAX_PENDING_BYTES',
      64 * 1024 * 1024,
      1024 * 1024,
      16 * 1024 * 1024 * 1024,
    ),
    // ~2,000 frames of 16 small images (2 KB each) take ~70 MB; 1 GiB leaves room for larger images.
    storeImageBytesPerRun: integer(
      env,
      'STORE_IMAGE_BYTES_PER_RUN',
      1024 * 1024 * 1024,
      1024 * 1024,
      1024 * 1024 * 1024 * 1024,
    ),
    // 0 runs each commit's statements on the event loop (the main connection).
    storeWriteThread: flag(env, 'STORE_WRITE_THREAD', '1'),
    retentionDays: integer(env, 'RETENTION_DAYS', 0, 0, 36_500),
    // Explore and compare: a 20-run compare view of 10 series is ~9 MB of answers; 64 MiB keeps several.
    seriesCacheBytes: integer(
      env,
      'SERIES_CACHE_BYTES',
      64 * 1024 * 1024,
      0,
      64 * 1024 * 1024 * 1024,
    ),
    auth,
    allowInsecureNetwork: flag(env, 'ALLOW_INSECURE_NETWORK'),
    // Never echoed: a bad value is reported without it.
    adminToken: text(env, 'ADMIN_TOKEN', ''),
    authSessionTtlMs: integer(env, 'AUTH_SESSION_TTL_MS', 12 * 3600_000, 1000, 365 * 24 * 3600_000),
    // Generous for one trainer (an SDK reconnecting with backoff opens a few a minute; a fast
    // loop sends thousands of small messages a second); they stop one runaway key, not real runs.
    keyStreamOpensPerMinute: integer(env, 'KEY_STREAM_OPENS_PER_MINUTE', 60, 0, 1_000_000),
    keyMessagesPerSecond: integer(env, 'KEY_MESSAGES_PER_SECOND', 20_000, 0, 100_000_000),
    keyBytesPerSecond: integer(
      env,
      'KEY_BYTES_PER_SECOND',
      64 * 1024 * 1024,
      0,
      1024 * 1024 * 1024 * 1024,
    ),
    // Teams and auth: a revoked key's open streams end within this (and at once when revoked here).
    authRecheckMs: integer(env, 'AUTH_RECHECK_MS', 500, 50, 60_000),
    ...tlsFiles(env),
    // --- Watchdog and alerts ---
    // 30 s: shorter pauses (evaluation, checkpointing) are normal; tests set it lower.
    watchdogStallMinMs: integer(env, 'WATCHDOG_STALL_MIN_MS', 30_000, 100, 86_400_000),
    // Once a second: a stall is seen within a second of its bound.
    watchdogCheckIntervalMs: integer(env, 'WATCHDOG_CHECK_INTERVAL_MS', 1000, 10, 60_000),
    webhookUrls: webhookUrls(env),
    // 1 s, 2 s, 4 s: rides out an endpoint's restart without holding the queue for long.
    webhookRetryBaseMs: integer(env, 'WEBHOOK_RETRY_BASE_MS', 1000, 10, 600_000),
    // --- Alerts kept and per-session webhooks ---
    // Empty: a trainer key must not make the server call internal addresses unless allowed.
    webhookAllowedHosts: webhookAllowedHosts(env),
    // --- Per-class accuracy series ---
    // 100: a chart group one can still read; at most MAX_SERIES_PER_SESSION's default / 10.
    classAccuracyMaxClasses: integer(env, 'CLASS_ACCURACY_MAX_CLASSES', 100, 0, 1000),
    // --- Replicas ---
    natsUrl: natsUrl(env, engine),
    // 10 s: a replica that died hands its sessions over within that, or at once when a trainer returns.
    replicaLeaseTtlMs: integer(env, 'REPLICA_LEASE_TTL_MS', 10_000, 1000, 600_000),
    busEventsPerSession: integer(env, 'BUS_EVENTS_PER_SESSION', 10_000, 100, 10_000_000),
    // ~70 s of a 60 msg/s run: rides out a NATS restart without holding a run's worth of events.
    busPublishQueue: integer(env, 'BUS_PUBLISH_QUEUE', 4096, 16, 1_000_000),
    // --- Native gRPC flow control ---
    // 1 MiB: a trainer streaming 16 × 15 KB images at 60 msg/s (~15 MB/s) is not held by a 60 ms
    // round trip, where HTTP/2's 64 KB holds 2 MB/s at 30 ms; 64 KB (65535) restores HTTP/2's default.
    grpcReceiveWindowBytes: integer(
      env,
      'GRPC_RECEIVE_WINDOW_BYTES',
      1024 * 1024,
      65_535,
      HTTP2_MAX_WINDOW_BYTES,
    ),
  };
}

/** FRAMES_DIR: PostgreSQL's image frames in files; SQLite's are always in DATA_DIR/frames. */
function framesDir(env: Env, engine: StoreEngineSetting): string {
  const dir = text(env, 'FRAMES_DIR', '');
  if (dir !== '' && engine !== 'postgres') {
    throw new ConfigError(
      'FRAMES_DIR',
      dir,
      'unset unless DATABASE_URL is set (SQLite keeps image frames in DATA_DIR/frames)',
    );
  }
  return dir;
}

/** NATS_URL: replicas share NATS for what is live and PostgreSQL for what is kept. */
function natsUrl(env: Env, engine: StoreEngineSetting): string {
  const url = text(env, 'NATS_URL', '');
  if (url === '') return '';
  // Credentials in the URL never reach an error message or a log.
  const shown = url.replace(/\/\/[^@/\s]*@/g, '//***@');
  const bad = url.split(',').find((part) => !/^(nats|tls):\/\/[^\s]+$/.test(part.trim()));
  if (bad !== undefined) throw new ConfigError('NATS_URL', shown, 'nats:// URLs, comma-separated');
  if (engine !== 'postgres') {
    throw new ConfigError(
      'NATS_URL',
      shown,
      'to be set together with DATABASE_URL: replicas keep runs in one shared PostgreSQL',
    );
  }
  return url;
}

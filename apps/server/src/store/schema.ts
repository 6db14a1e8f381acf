import type { Generated } from 'kysely';

/**
 * The store's tables as Kysely sees them: one set of types and queries for
 * both engines (SQLite and PostgreSQL). Changed only by a new migration in
 * `migrations/`; a column added there is added here.
 *
 * Conventions, identical in both engines:
 * - Times (`*_ms`), steps and sequences are 64-bit integers read as JS numbers
 *   (exact up to 2^53; a PostgreSQL pool parses int8 as a number).
 * - Flags are integers 0/1.
 * - Protobuf messages are stored as their binary encoding (`Buffer`), never JSON.
 * - A series value that is NaN is stored as NULL (SQLite cannot hold NaN;
 *   PostgreSQL orders NaN above every number, which would break min/max).
 *   ±Infinity is stored as itself. See `series-value.ts`.
 */
export interface Database {
  sessions: SessionsTable;
  session_tags: SessionTagsTable;
  status_events: StatusEventsTable;
  series: SeriesTable;
  points: PointsTable;
  series_blocks: SeriesBlocksTable;
  epochs: EpochsTable;
  performance: PerformanceTable;
  commands: CommandsTable;
  image_frames: ImageFramesTable;
  confusion_matrices: ConfusionMatricesTable;
  users: UsersTable;
  api_keys: ApiKeysTable;
  auth_sessions: AuthSessionsTable;
  setup_tokens: SetupTokensTable;
  alerts: AlertsTable;
  alert_settings: AlertSettingsTable;
}

/**
 * One run: what SessionSummary says of it, plus what a resumed trainer needs.
 * `Generated` marks columns with a default (optional on insert).
 */
export interface SessionsTable {
  id: string;
  /** Display name (UpdateSession); '' when unnamed. */
  name: Generated<string>;
  client_name: Generated<string>;
  client_version: Generated<string>;
  created_at_ms: number;
  last_update_ms: number;
  last_seen_ms: number;
  /** TrainingStatus. */
  status: number;
  status_message: Generated<string>;
  /** ConnectionState as last written (a restarted server treats every stored run as not connected). */
  connection: number;
  /** TrainingConfig (binary), class names included; NULL before a config is known. */
  config: Buffer | null;
  /** Copied out of config for filtering and sorting. */
  model_name: Generated<string>;
  dataset_name: Generated<string>;
  class_count: Generated<number>;
  /** RunMetadata (binary) after every merge; NULL when none was sent. */
  metadata: Buffer | null;
  /** RunMetadata.note, copied out for text search. */
  note: Generated<string>;
  epoch: Generated<number>;
  batch_idx: Generated<number>;
  latest_loss: number | null;
  batches_received: Generated<number>;
  /** Highest MetricsRequest.sequence applied: written in the transaction holding that message's data. */
  last_sequence: Generated<number>;
  partial_history: Generated<number>;
  history_start_step: number | null;
  resume_token: Generated<string>;
  series_count: Generated<number>;
  /** Image frames kept after the retention policy, and their bytes (the per-run budget counts these). */
  stored_frames: Generated<number>;
  stored_image_bytes: Generated<number>;
  /** ApiKeysTable.id of the key that created the run ('' when auth was off). */
  owner_key_id: Generated<string>;
  /** Alerts not yet acknowledged (migration 0030), for lists of stored runs. */
  open_alerts: Generated<number>;
}

/** A run's tags, one row each (ListSessionsRequest.tags filters on them). */
export interface SessionTagsTable {
  session_id: string;
  tag: string;
}

/** The status timeline: every StatusEvent published for a run, oldest first by id. */
export interface StatusEventsTable {
  id: Generated<number>;
  session_id: string;
  at_ms: number;
  /** TrainingStatus and ConnectionState after the event. */
  status: number;
  connection: number;
  message: string;
  /** StatusEvent (binary). */
  event: Buffer;
}

/** A named series of a run; points refer to it by id. */
export interface SeriesTable {
  id: Generated<number>;
  session_id: string;
  name: string;
  /** SeriesKind: STEP (x is the global step) or EPOCH (x is the epoch). */
  kind: number;
}

/** Every point of every series, at full resolution. */
export interface PointsTable {
  series_id: number;
  /** Global step, or epoch for an EPOCH series. */
  step: number;
  /** NULL means NaN (see Database). */
  value: number | null;
  wall_ms: number;
}

/**
 * Min/max/count/last of a series per block of `block_size` steps starting
 * at `block_start` (see series-blocks.ts); written with the points.
 */
export interface SeriesBlocksTable {
  series_id: number;
  block_size: number;
  block_start: number;
  first_step: number;
  last_step: number;
  point_count: number;
  nan_count: number;
  /** Smallest/largest non-NaN value; NULL when every point is NaN. */
  min_v: number | null;
  max_v: number | null;
  /** Value of the point at last_step; NULL means NaN. */
  last_value: number | null;
  last_wall_ms: number;
}

/** Every applied EpochData. */
export interface EpochsTable {
  id: Generated<number>;
  session_id: string;
  epoch: number;
  at_ms: number;
  /** EpochData (binary). */
  data: Buffer;
}

/** Every applied PerformanceData (the performance and system series). */
export interface PerformanceTable {
  id: Generated<number>;
  session_id: string;
  at_ms: number;
  /** PerformanceData (binary). */
  data: Buffer;
}

/** The command audit: one row per command id, replaced as its entry changes. */
export interface CommandsTable {
  session_id: string;
  command_id: string;
  issued_at_ms: number;
  /** CommandAuditEntry (binary). */
  entry: Buffer;
}

/**
 * Image frames kept under the retention policy (store/image-retention.ts):
 * one row per step (a frame sent again for a step replaces it).
 */
export interface ImageFramesTable {
  session_id: string;
  step: number;
  epoch: number;
  batch_idx: number;
  timestamp_ms: number;
  /** Size of `frame`, counted against the per-run byte budget. */
  bytes: number;
  /** ImageFrame (binary): images, predictions, ground truth; empty when the bytes are in a segment file. */
  frame: Buffer;
  /** Segment file holding the frame (frame-files.ts; migration 0085), null when the bytes are in `frame`. */
  file_segment: number | null;
  /** Where the frame starts in its segment file. */
  file_offset: number | null;
  /** Writer number in the segment file's name (frame-files.ts; migration 0115), null for SQLite's. */
  file_writer: number | null;
}

/** A run's confusion matrix per epoch (migration 0010), replaced as the epoch's batches arrive. */
export interface ConfusionMatricesTable {
  session_id: string;
  epoch: number;
  /** ConfusionMatrix.predictions, copied out. */
  predictions: number;
  /** ConfusionMatrix (binary), whole. */
  matrix: Buffer;
}

/** A person who signs in (migration 0020). */
export interface UsersTable {
  id: string;
  /** Unique sign-in name. */
  name: string;
  /** 'viewer' | 'operator' | 'admin'. */
  role: string;
  /** scrypt$N$r$p$salt$hash (auth/password.ts); '' until a password is set. */
  password_hash: Generated<string>;
  created_at_ms: number;
}

/** A trainer's API key: only the SHA-256 of its secret is kept. */
export interface ApiKeysTable {
  id: string;
  /** The user the key belongs to. */
  user_id: string;
  name: Generated<string>;
  secret_hash: string;
  created_at_ms: number;
  /** When revoked; NULL while the key is accepted. */
  revoked_at_ms: number | null;
}

/** A signed-in person's session token (SHA-256 of it). */
export interface AuthSessionsTable {
  token_hash: string;
  user_id: string;
  created_at_ms: number;
  expires_at_ms: number;
}

/** A one-time setup token for the first admin (migration 0065): SHA-256 of it, until an admin exists. */
export interface SetupTokensTable {
  token_hash: string;
  created_at_ms: number;
}

/** A watchdog alert (migration 0030): one row per alert id, replaced as the alert changes. */
export interface AlertsTable {
  session_id: string;
  alert_id: string;
  first_at_ms: number;
  /** 0 while open. */
  acknowledged_at_ms: Generated<number>;
  /** Alert (binary). */
  alert: Buffer;
}

/** A run's watchdog settings (migration 0030), replaced when they change. */
export interface AlertSettingsTable {
  session_id: string;
  /**
   * AlertSettings (binary): the effective rules, who changed them last, and
   * the run's webhook URLs whole (secrets included; dashboards get them redacted).
   */
  settings: Buffer;
  /** AlertSettings (binary) holding only the rules an operator changed (SetAlertRules). */
  operator_rules: Buffer;
  /** 1 once an operator set the webhook URLs (a trainer's registration no longer replaces them). */
  webhooks_from_operator: Generated<number>;
}

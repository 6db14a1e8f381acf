/**
 * Fixed bounds that are not worth a setting. Settings (apps/server/src/config)
 * hold the bounds operators tune; these keep the rest finite.
 */

/** Longest SessionInfo.client_name. */
export const MAX_CLIENT_NAME_LENGTH = 128;
/** Longest SessionInfo.client_version. */
export const MAX_CLIENT_VERSION_LENGTH = 64;
/** Longest TrainingConfig.model_name / dataset_name. */
export const MAX_DISPLAY_NAME_LENGTH = 256;
/** Most TrainingConfig.class_names entries. */
export const MAX_CLASS_NAMES = 10_000;
/** Longest single class name. */
export const MAX_CLASS_NAME_LENGTH = 256;
/** Longest Prediction.predicted_label (a class name, so the same bound). */
export const MAX_PREDICTED_LABEL_LENGTH = MAX_CLASS_NAME_LENGTH;
/** Longest StatusUpdate / CommandResult message kept. */
export const MAX_STATUS_MESSAGE_LENGTH = 4096;
/** Longest SendCommandRequest.issued_by. */
export const MAX_ISSUED_BY_LENGTH = 128;
/** Epoch summaries kept per session (a run with more keeps the newest). */
export const MAX_EPOCHS_KEPT = 100_000;
/** Commands awaiting a trainer result, per session. */
export const MAX_PENDING_COMMANDS = 64;
/**
 * Responses (acks, commands, errors) queued on one trainer stream while the
 * trainer is not reading, on top of the trainer buffer size. Past it the
 * stream is closed: the trainer is not reading its acknowledgements.
 */
export const TRAINER_RESPONSE_SLACK = 256;
/**
 * Messages of one trainer stream applied but not yet acknowledged because
 * their commit is pending; past it the stream stops being read until
 * commits catch up (at a 20 ms group commit, 256 still allow ~12,000
 * messages a second per stream).
 */
export const MAX_MESSAGES_AWAITING_COMMIT = 256;
/**
 * Together, the class names of one config at most this many UTF-8 bytes: an
 * ASCII list at both limits above fits exactly. Without it a list of
 * multi-byte names could be three times larger and no snapshot carrying it
 * would fit in one message a default client accepts.
 */
export const MAX_CLASS_NAMES_BYTES = MAX_CLASS_NAMES * MAX_CLASS_NAME_LENGTH;
/**
 * Largest message a default dashboard client receives: grpc-js' default
 * max_receive_message_length, and the readMaxBytes we promise Connect
 * clients. Every DashboardService response and watch event stays below it,
 * whatever the server accepted from trainers.
 */
export const DEFAULT_CLIENT_RECEIVE_BYTES = 4 * 1024 * 1024;
/**
 * What one ListSessions page or watch event may take of that: the rest is
 * headroom for the response wrapper (cursor, oneof tags, gRPC framing).
 */
export const DASHBOARD_MESSAGE_BUDGET_BYTES = DEFAULT_CLIENT_RECEIVE_BYTES - 64 * 1024;
/**
 * Share of a snapshot every series together may take (`series`, and the
 * loss again as `loss_history`); past it each series is thinned to the same
 * number of points (min/max kept), down to none (name, kind and count only).
 */
export const SNAPSHOT_SERIES_BYTES = 2 * 1024 * 1024;
/**
 * Points a series other than loss keeps however many series share
 * SERIES_HISTORY_POINTS_TOTAL (a chart of fewer says little).
 */
export const MIN_SERIES_HISTORY_POINTS = 16;
/** Longest Prediction.predicted_label shown to watchers (longer labels are cut, as class names are). */
export const MAX_WATCHED_LABEL_LENGTH = MAX_CLASS_NAME_LENGTH;
/** ListSessions page size when the request leaves it 0. */
export const DEFAULT_LIST_PAGE_SIZE = 100;
/** Largest ListSessions page_size. */
export const MAX_LIST_PAGE_SIZE = 1000;
/**
 * How far past the last applied sequence a message may jump, on top of the
 * trainer buffer size: messages in flight and an SDK buffer configured a
 * little larger than the announced one. Further is SEQUENCE_GAP.
 */
export const SEQUENCE_GAP_SLACK = 1024;
/**
 * Messages per second a trainer is assumed to log at most. While it was
 * away, an SDK whose buffer overflowed dropped its oldest messages, so the
 * gap it comes back with grows with the time it was away; this rate bounds
 * that growth (DESIGN: ~60 batches a second).
 */
export const MAX_TRAINER_MESSAGES_PER_SECOND = 1000;
/**
 * Shortest interval between two writer-conflict notices (ErrorResponse to the
 * live trainer, StatusEvent to watchers) for one session, so a client that
 * retries a refused registration in a loop cannot flood either.
 */
export const WRITER_CONFLICT_NOTICE_INTERVAL_MS = 1000;
/**
 * Commands completed by a status report whose own CommandResult is still
 * accepted when it arrives (oldest forgotten first; a forgotten one is then
 * answered UNKNOWN_COMMAND).
 */
export const SETTLED_BY_STATUS_REMEMBERED = 1024;
/**
 * How long the HTTP listener waits for a request's headers. Browsers send
 * them at once; a client trickling them is holding a connection hostage.
 */
export const HTTP_HEADERS_TIMEOUT_MS = 10_000;
/**
 * How long the HTTP listener waits for a whole request (headers and body; a
 * gRPC-Web response may stream for hours after it). Bodies are at most
 * HTTP_MAX_REQUEST_BYTES, so this only cuts off clients that stall mid-body.
 */
export const HTTP_REQUEST_TIMEOUT_MS = 30_000;
/**
 * Lossless watch events kept per live session so a watcher whose stream
 * broke resumes from its cursor (WatchSessionRequest.resume_cursor) instead
 * of taking a new snapshot: about 17 s of a 60-batch/s run.
 */
export const WATCH_RESUME_EVENTS = 1024;
/** Bytes (estimated) those events may take per session; a run with many named values keeps fewer. */
export const WATCH_RESUME_BYTES = 512 * 1024;
/**
 * Sessions with such a ring at once (the most recently active): with the
 * bound above, resume rings never hold more than 64 MiB.
 */
export const WATCH_RESUME_SESSIONS = 128;
/** Longest ListSessionsRequest.text. */
export const MAX_LIST_FILTER_TEXT_LENGTH = 256;
/**
 * Largest magnitude of a time (ms) or step the server takes from a client:
 * exact as a JavaScript number, and inside PostgreSQL's bigint (2^63 - 1 read
 * as a number is 2^63, past it).
 */
export const MAX_EXACT_INTEGER = BigInt(Number.MAX_SAFE_INTEGER);
/** QuerySeriesRequest.max_points when 0, and its largest value. */
export const DEFAULT_QUERY_POINTS = 2000;
export const MAX_QUERY_POINTS = 10_000;
/**
 * Most distinct QuerySeriesRequest.names (a request for every series sends
 * none): the names become one query's parameters, which SQLite and
 * PostgreSQL cap (32,766 and 65,535).
 */
export const MAX_QUERY_SERIES_NAMES = 1000;
/**
 * Encoded bytes a QuerySeries bucket takes at most (first step, min, max,
 * last value, step and time, count); a request for more series than fit
 * in one response at max_points gets fewer buckets per series instead.
 */
export const QUERY_BUCKET_BYTES = 56;
/** GetImageFramesRequest.max_frames when 0, and its largest value. */
export const DEFAULT_IMAGE_FRAMES = 8;
export const MAX_IMAGE_FRAMES = 64;
/** Most steps GetImageFramesResponse.frame_steps lists (evenly spread when there are more). */
export const MAX_FRAME_STEPS = 10_000;
/** Longest UpdateSessionRequest.name. */
export const MAX_RUN_NAME_LENGTH = 256;
/** How often the retention sweep runs (RETENTION_DAYS), and how many runs one sweep deletes at most. */
export const RETENTION_SWEEP_INTERVAL_MS = 60 * 60 * 1000;
export const RETENTION_RUNS_PER_SWEEP = 16;
/** Runs carrying this tag are never deleted by the retention sweep (RETENTION_DAYS). */
export const RETENTION_KEEP_TAG = 'keep';
/**
 * Frames folders of runs the store no longer has are deleted at start-up
 * once untouched this long: a new run's first frames reach their files
 * before the commit that adds its row, on this replica or another.
 */
export const ORPHAN_FRAMES_GRACE_MS = 10 * 60 * 1000;
/**
 * Cells a run's confusion matrix keeps per epoch (ConfusionMatrix): every
 * cell of 141 classes, or the diagonal and the commonest confusions of
 * 10,000. A prediction whose cell does not fit counts in its row only.
 */
export const MAX_CONFUSION_CELLS = 20_000;
/** Epochs of confusion matrices a session holds in memory (the store keeps every epoch). */
export const CONFUSION_EPOCHS_IN_MEMORY = 4;
/** Most epochs GetConfusionMatrixResponse.epochs lists (the newest). */
export const MAX_CONFUSION_EPOCHS_LISTED = 10_000;
/** Stored frames one filtered GetImageFrames request decodes at most. */
export const MAX_FILTER_SCAN_FRAMES = 2000;
/** Classes (lowest indices) whose accuracy also becomes a `class_acc/<class>` epoch series. */
export const MAX_CLASS_ACCURACY_SERIES = 64;

/** API keys whose rate-limit buckets are held at once; the least recently used is forgotten past it. */
export const MAX_LIMITED_KEYS = 10_000;

// --- Watchdog and alerts ---------------------------------------------------
/** Longest SendCommandRequest.reason (a watchdog rule's reason fits easily). */
export const MAX_COMMAND_REASON_LENGTH = 512;
/** Alerts a session keeps (newest kept); the snapshot carries them all. */
export const MAX_ALERTS_PER_SESSION = 100;
/** Longest Alert.message. */
export const MAX_ALERT_MESSAGE_LENGTH = 512;
/** Losses (and batch intervals) the watchdog keeps per session for its windows. */
export const MAX_WATCHDOG_WINDOW_POINTS = 1024;
/** GPU utilisation samples the watchdog keeps per session. */
export const MAX_WATCHDOG_GPU_SAMPLES = 1024;
/** Longest AcknowledgeAlertRequest.acknowledged_by. */
export const MAX_ACKNOWLEDGED_BY_LENGTH = 128;
/** Alert webhooks waiting to be posted, across URLs; past it the oldest is dropped (counted). */
export const WEBHOOK_QUEUE_SIZE = 1000;
/**
 * Webhooks one URL may have waiting: each URL has its own queue and sender,
 * so an endpoint that is down or hangs delays only its own alerts.
 */
export const WEBHOOK_QUEUE_PER_URL = 100;
/** Attempts per webhook delivery (the first and its retries, backoff doubling from WEBHOOK_RETRY_BASE_MS). */
export const MAX_WEBHOOK_ATTEMPTS = 4;
/** How long one webhook POST may take. */
export const WEBHOOK_TIMEOUT_MS = 5000;
/** Alert ids remembered as already posted. */
export const WEBHOOK_ALERTS_REMEMBERED = 10_000;
/** Per-session webhook bounds, shared with the SDKs (written once in @trainwatch/proto). */
export { MAX_WEBHOOK_URLS_PER_SESSION, MAX_WEBHOOK_URL_LENGTH } from '@trainwatch/proto';
/** Longest SetAlertRulesRequest.updated_by. */
export const MAX_ALERT_SETTINGS_BY_LENGTH = 128;

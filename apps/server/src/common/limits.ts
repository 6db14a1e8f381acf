/**
 * Fixed bounds that are not worth a setting. Settings (apps/server/src/config)
 * hold the bounds operators tune; these keep the rest finite.
 */

/** Longest accepted session id and the characters it may use. */
export const SESSION_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
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

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

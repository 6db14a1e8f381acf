import { Code, ConnectError } from '@connectrpc/connect';
import { status as GrpcStatus } from '@grpc/grpc-js';

/**
 * The one error type services throw. It carries a gRPC status code and is
 * converted once per transport: to a grpc-js status for native gRPC
 * ({@link toGrpcStatus}) and to a ConnectError for gRPC-Web ({@link toConnectError}).
 */
export class AppError extends Error {
  constructor(
    readonly code: GrpcStatus,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'AppError';
  }
}

/** Type guard for {@link AppError}. */
export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}

/** Shorthands for the codes services use. */
export const errors = {
  invalidArgument: (message: string) => new AppError(GrpcStatus.INVALID_ARGUMENT, message),
  notFound: (message: string) => new AppError(GrpcStatus.NOT_FOUND, message),
  failedPrecondition: (message: string) => new AppError(GrpcStatus.FAILED_PRECONDITION, message),
  deadlineExceeded: (message: string) => new AppError(GrpcStatus.DEADLINE_EXCEEDED, message),
  resourceExhausted: (message: string) => new AppError(GrpcStatus.RESOURCE_EXHAUSTED, message),
  unavailable: (message: string) => new AppError(GrpcStatus.UNAVAILABLE, message),
  alreadyExists: (message: string) => new AppError(GrpcStatus.ALREADY_EXISTS, message),
  aborted: (message: string) => new AppError(GrpcStatus.ABORTED, message),
  unauthenticated: (message: string) => new AppError(GrpcStatus.UNAUTHENTICATED, message),
  permissionDenied: (message: string) => new AppError(GrpcStatus.PERMISSION_DENIED, message),
};

/**
 * The most characters of an error message sent to a client. Messages quote
 * what the client sent (a session id, a name), and a status message travels
 * in a header: one of 100,000 characters went past what a gRPC client
 * accepts in its trailers, and the call never got an answer.
 */
export const MAX_ERROR_MESSAGE_CHARS = 1024;

/** `message` cut to MAX_ERROR_MESSAGE_CHARS, saying how much was left out. */
export function clientMessage(message: string): string {
  if (message.length <= MAX_ERROR_MESSAGE_CHARS) return message;
  const kept = message.slice(0, MAX_ERROR_MESSAGE_CHARS - 64);
  return `${kept}… (${message.length - kept.length} more characters left out)`;
}

/** A grpc-js status object, as grpc-js reads it from a handler's error. */
export interface GrpcStatusObject {
  code: GrpcStatus;
  details: string;
  message: string;
}

/** Converts anything thrown into a grpc-js status; unknown errors become INTERNAL without leaking details. */
export function toGrpcStatus(error: unknown): GrpcStatusObject {
  if (isAppError(error)) {
    const message = clientMessage(error.message);
    return { code: error.code, details: message, message };
  }
  return { code: GrpcStatus.INTERNAL, details: 'internal error', message: 'internal error' };
}

/** Converts anything thrown into a ConnectError (Connect codes equal gRPC status codes). */
export function toConnectError(error: unknown): ConnectError {
  if (error instanceof ConnectError) return error;
  if (isAppError(error))
    return new ConnectError(clientMessage(error.message), error.code as number as Code);
  return new ConnectError('internal error', Code.Internal);
}

import {
  Catch,
  HttpException,
  InternalServerErrorException,
  Logger,
  type ArgumentsHost,
} from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { throwError, type Observable } from 'rxjs';
import { isStoreUnavailable } from '../store/store-errors';
import { AppError, errors, isAppError, toGrpcStatus } from './app-error';

const logger = new Logger('UnexpectedError');
/** Errors already logged, so one that passes through two layers is logged once. */
const logged = new WeakSet<object>();

/**
 * The error clients see for whatever a handler threw: an AppError as it is
 * (expected, not logged); a store that is unavailable as UNAVAILABLE with
 * the reason (not a bug); anything else is a bug, logged once with its
 * stack (its cause) and answered INTERNAL without details. Every transport
 * goes through here: the global filter (unary gRPC and watch streams), the
 * trainer stream, and the gRPC-Web interceptor.
 */
export function asAppError(error: unknown, where: string): AppError {
  if (isAppError(error)) return error;
  // Not a bug: the store is away; health says NOT_SERVING with the reason, and it recovers.
  if (isStoreUnavailable(error)) {
    return errors.unavailable(`the store is unavailable: ${error.message}`);
  }
  const seen = typeof error === 'object' && error !== null;
  if (!seen || !logged.has(error)) {
    if (seen) logged.add(error);
    const stack = error instanceof Error ? (error.stack ?? error.message) : String(error);
    logger.error(`${where} failed: ${stack}`);
  }
  return new AppError(GrpcStatus.INTERNAL, 'internal error', { cause: error });
}

/**
 * The one exception filter, installed globally (server.ts) for HTTP and the
 * gRPC microservice alike. gRPC: maps through asAppError to a grpc-js status.
 * HTTP: Nest's HttpExceptions (404...) as Nest answers them; anything else
 * logged once, then 500.
 */
@Catch()
export class AppExceptionFilter extends BaseExceptionFilter {
  override catch(exception: unknown, host: ArgumentsHost): Observable<never> | void {
    if (host.getType() === 'rpc') {
      return throwError(() => toGrpcStatus(asAppError(exception, 'gRPC call')));
    }
    if (exception instanceof HttpException) {
      super.catch(exception, host);
      return;
    }
    asAppError(exception, 'HTTP request');
    super.catch(new InternalServerErrorException(), host);
  }
}

import { Catch, type RpcExceptionFilter } from '@nestjs/common';
import { throwError, type Observable } from 'rxjs';
import { toGrpcStatus } from './app-error';

/**
 * Maps whatever a gRPC handler throws to a grpc-js status, so clients get
 * the AppError's code and message (and INTERNAL, without details, otherwise).
 */
@Catch()
export class GrpcErrorFilter implements RpcExceptionFilter<unknown> {
  catch(exception: unknown): Observable<never> {
    return throwError(() => toGrpcStatus(exception));
  }
}

import { Logger } from '@nestjs/common';
import type { Metadata, Server, ServerDuplexStream, sendUnaryData } from '@grpc/grpc-js';
import { toGrpcStatus } from '../common/app-error';
import type { Authenticator } from './authenticator';
import { ANONYMOUS, type Identity } from './identity';

/** grpc-js' handler record as its server looks it up (not part of its typed API). */
interface GrpcHandler {
  type: 'unary' | 'clientStream' | 'serverStream' | 'bidi';
  func: (call: GrpcCall, callback?: sendUnaryData<unknown>) => void;
}
interface GrpcCall {
  metadata: Metadata;
  emit(event: 'error', error: unknown): boolean;
}
interface HandlerLookup {
  _retrieveHandler(path: string): GrpcHandler | null | undefined;
}

/** The identity each native gRPC call was authorized as (the call object is what handlers get). */
const identities = new WeakMap<object, Identity>();

/** Who a native gRPC call comes from; ANONYMOUS for a call the guard did not see (AUTH=off paths). */
export function identityOf(call: object): Identity {
  return identities.get(call) ?? ANONYMOUS;
}

/** The API key a trainer call authenticated with (AUTH=required); undefined with auth off. */
export function keyIdOf(call: object): string | undefined {
  const identity = identityOf(call);
  return identity.kind === 'key' ? identity.keyId : undefined;
}

function metadataText(metadata: Metadata, key: string): string | undefined {
  const value = metadata.get(key)[0];
  return typeof value === 'string' ? value : undefined;
}

/**
 * Puts the Authenticator in front of every handler of `server`, whatever the
 * call kind: the call starts only once its caller is known and allowed; a
 * refused one ends with UNAUTHENTICATED or PERMISSION_DENIED before any
 * handler (or Nest) sees it. grpc-js server interceptors would do this, but
 * Nest does not pass them to the Server it creates; the handler lookup
 * (also extended by common/grpc-unknown-method.ts) is the one place.
 * Messages a streaming caller sends meanwhile wait in the call's buffer.
 */
export function guardGrpcServer(server: Server, authenticator: Authenticator): void {
  if (!authenticator.required) return;
  const lookup = server as unknown as Partial<HandlerLookup>;
  const original = lookup._retrieveHandler;
  if (typeof original !== 'function') {
    // Refuse to start open: a server that cannot check callers must not serve them.
    throw new Error('AUTH=required, but grpc-js has no handler lookup to guard');
  }
  lookup._retrieveHandler = (path: string) => {
    const handler = original.call(server, path);
    if (handler === null || handler === undefined) return handler;
    return {
      ...handler,
      func: (call: GrpcCall, callback?: sendUnaryData<unknown>) => {
        authenticator
          .authorize(path, {
            authorization: metadataText(call.metadata, 'authorization'),
            // A browser's gRPC-Web call that Envoy translated to native gRPC (compose) carries
            // the session cookie as metadata.
            cookie: metadataText(call.metadata, 'cookie'),
          })
          .then(
            (identity) => {
              identities.set(call, identity);
              handler.func(call, callback);
            },
            (error: unknown) => {
              const status = toGrpcStatus(error);
              if (status.code === 13)
                new Logger('Auth').error(`authorizing ${path} failed: ${String(error)}`);
              if (handler.type === 'unary' || handler.type === 'clientStream') {
                callback?.({ code: status.code, details: status.details });
              } else {
                (call as unknown as ServerDuplexStream<unknown, unknown>).emit('error', {
                  code: status.code,
                  details: status.details,
                });
              }
            },
          );
      },
    };
  };
}

import { Logger } from '@nestjs/common';
import { status, type Server, type ServerDuplexStream } from '@grpc/grpc-js';
import type { MethodDefinition } from '@grpc/grpc-js';
import type { PackageDefinition } from '@trainwatch/proto';
import { servedMethods, unknownMethodMessage } from './unknown-method';

/** The lookup grpc-js' Server runs for every incoming call (not part of its typed API). */
interface HandlerLookup {
  _retrieveHandler(path: string): unknown;
}

/** Every method path a package definition serves. */
function definitionPaths(definition: PackageDefinition): string[] {
  return Object.values(definition).flatMap((service) =>
    'format' in service
      ? []
      : Object.values(service as Record<string, MethodDefinition<unknown, unknown>>).map(
          (method) => method.path,
        ),
  );
}

/**
 * Makes `server` answer calls to unknown services and methods with
 * UNIMPLEMENTED naming what it does serve, instead of grpc-js' bare "The
 * server does not implement the method".
 *
 * grpc-js has no public hook for this: server interceptors only run once a
 * handler was found, and an unknown path is answered inside the server
 * before them. The one place is the server's handler lookup, so it is
 * wrapped on this instance: a path with no handler gets a handler that ends
 * the call at once (as bidi, so it works whatever the client's call kind,
 * without waiting for its messages). If a grpc-js release renames the
 * lookup, the server keeps grpc-js' own message and says so at start-up.
 */
export function answerUnknownMethods(server: Server, definition: PackageDefinition): void {
  const lookup = server as unknown as Partial<HandlerLookup>;
  const original = lookup._retrieveHandler;
  if (typeof original !== 'function') {
    new Logger('Grpc').warn(
      'grpc-js has no handler lookup to extend; UNIMPLEMENTED keeps its own message',
    );
    return;
  }
  const served = servedMethods(definitionPaths(definition));
  lookup._retrieveHandler = (path: string) =>
    original.call(server, path) ?? {
      type: 'bidi',
      path,
      serialize: (message: Buffer) => message,
      deserialize: (bytes: Buffer) => bytes,
      func: (call: ServerDuplexStream<Buffer, Buffer>) =>
        call.emit('error', {
          code: status.UNIMPLEMENTED,
          details: unknownMethodMessage(path, served),
        }),
    };
}

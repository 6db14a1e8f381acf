import { fromBinary, toBinary } from '@bufbuild/protobuf';
import type { DescMessage, DescMethod, DescService, MessageShape } from '@bufbuild/protobuf';
import { FRAME_HEADER_BYTES, framedOnce } from './encode-once';
import { decodeMetricsRequest } from './metrics-request-decoder';
import { encodeMetricsResponse } from './metrics-response-encoder';
import type { loadPackageDefinition, MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';

/** grpc-js' package definition type (not exported by name from grpc-js). */
export type PackageDefinition = Parameters<typeof loadPackageDefinition>[0];

/**
 * A grpc-js method definition whose (de)serializers speak protobuf-es
 * messages, so handlers receive and return generated message types.
 */
export type ProtobufEsMethodDefinition<
  I extends DescMessage,
  O extends DescMessage,
> = MethodDefinition<MessageShape<I>, MessageShape<O>>;

/**
 * Where a shared frame keeps its body as a Buffer (one object for every stream it goes to), and
 * where that body keeps the whole frame around it. Properties, not WeakMaps: with two WeakMaps
 * chained behind encode-once's (message → frame → body → frame), a server with ten native
 * watchers of one trainer (16 × 2 KB images, 60 msg/s) ran 38-53 full (mark-compact) collections
 * in 16 s instead of 2-3, and about 65% of a core instead of 35% (the replicas benchmark, back
 * to back). Properties go away with the frame and leave the collector nothing to iterate.
 */
const BODY = Symbol('trainwatch.grpcBody');
const FRAME = Symbol('trainwatch.grpcFrame');
type SharedFrame = Uint8Array & { [BODY]?: Buffer };
type SharedBody = Uint8Array & { [FRAME]?: Buffer };

/**
 * A server stream fans one message out to many calls: the same message object
 * is written to each, and its bytes come from the one encoding every transport
 * shares (encode-once.ts), viewed without copying. The same Buffer comes back
 * for every call, and {@link preFramed} finds the frame around it.
 */
function serializeOnce<O extends DescMessage>(schema: O, message: MessageShape<O>): Buffer {
  const framed: SharedFrame = framedOnce(schema, message);
  let body = framed[BODY];
  if (body === undefined) {
    body = Buffer.from(
      framed.buffer,
      framed.byteOffset + FRAME_HEADER_BYTES,
      framed.byteLength - FRAME_HEADER_BYTES,
    );
    (body as SharedBody)[FRAME] = Buffer.from(framed.buffer, framed.byteOffset, framed.byteLength);
    framed[BODY] = body;
  }
  return body;
}

/**
 * The length-prefixed gRPC frame around bytes a server-streaming serializer
 * of this module returned (undefined for any other bytes), so a transport can
 * write the shared frame to every stream instead of framing a copy per stream.
 */
export function preFramed(body: Uint8Array): Buffer | undefined {
  return (body as SharedBody)[FRAME];
}

/**
 * Decoders that return exactly what `fromBinary` returns for a message type,
 * for the requests every training step sends (see metrics-request-decoder.ts).
 */
const requestDecoders: ReadonlyMap<string, (bytes: Uint8Array) => unknown> = new Map([
  ['telemetry.v1.MetricsRequest', decodeMetricsRequest],
]);

/**
 * Encoders that return exactly what `toBinary` returns for a message type,
 * for the acknowledgment every trainer message gets (see metrics-response-encoder.ts).
 */
const responseEncoders: ReadonlyMap<string, (message: never) => Buffer> = new Map([
  ['telemetry.v1.MetricsResponse', encodeMetricsResponse],
]);

/** Turns one protobuf-es method descriptor into a grpc-js method definition. */
export function toGrpcMethodDefinition<I extends DescMessage, O extends DescMessage>(
  method: DescMethod & { input: I; output: O },
): ProtobufEsMethodDefinition<I, O> {
  const kind = method.methodKind;
  const decode =
    (requestDecoders.get(method.input.typeName) as
      ((bytes: Uint8Array) => MessageShape<I>) | undefined) ??
    ((bytes: Uint8Array) => fromBinary(method.input, bytes));
  const encode =
    (responseEncoders.get(method.output.typeName) as
      ((message: MessageShape<O>) => Buffer) | undefined) ??
    ((message: MessageShape<O>) => Buffer.from(toBinary(method.output, message)));
  return {
    path: `/${method.parent.typeName}/${method.name}`,
    requestStream: kind === 'client_streaming' || kind === 'bidi_streaming',
    responseStream: kind === 'server_streaming' || kind === 'bidi_streaming',
    requestSerialize: (message) => Buffer.from(toBinary(method.input, message)),
    requestDeserialize: decode,
    // Only server streams fan one message out to many calls; a unary or bidi
    // response is written once, so caching its bytes would be pure overhead.
    responseSerialize:
      kind === 'server_streaming' ? (message) => serializeOnce(method.output, message) : encode,
    responseDeserialize: (bytes) => fromBinary(method.output, bytes),
  };
}

/**
 * Turns a protobuf-es service descriptor into a grpc-js service definition.
 * Keys are the proto method names (e.g. `RegisterTrainingSession`), which is
 * what Nest's `@GrpcMethod('Service', 'Method')` patterns match.
 */
export function toGrpcServiceDefinition(service: DescService): ServiceDefinition {
  return Object.fromEntries(
    service.methods.map((method) => [method.name, toGrpcMethodDefinition(method)]),
  );
}

/**
 * Builds a grpc-js package definition (keyed by fully-qualified service name,
 * e.g. `telemetry.v1.TelemetryService`) from protobuf-es service descriptors.
 * Pass it to Nest's gRPC transport as `packageDefinition`, or to
 * `grpc.loadPackageDefinition` for clients. No proto-loader involved.
 */
export function toPackageDefinition(...services: DescService[]): PackageDefinition {
  const definition: PackageDefinition = {};
  for (const service of services) {
    definition[service.typeName] = toGrpcServiceDefinition(service);
  }
  return definition;
}

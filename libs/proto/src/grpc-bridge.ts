import { fromBinary, toBinary } from '@bufbuild/protobuf';
import type { DescMessage, DescMethod, DescService, MessageShape } from '@bufbuild/protobuf';
import { encodedOnce } from './encode-once';
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
 * A server stream fans one message out to many calls: the same message object
 * is written to each, and its bytes come from the one encoding every transport
 * shares (encode-once.ts), viewed without copying.
 */
function serializeOnce<O extends DescMessage>(schema: O, message: MessageShape<O>): Buffer {
  const bytes = encodedOnce(schema, message);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Turns one protobuf-es method descriptor into a grpc-js method definition. */
export function toGrpcMethodDefinition<I extends DescMessage, O extends DescMessage>(
  method: DescMethod & { input: I; output: O },
): ProtobufEsMethodDefinition<I, O> {
  const kind = method.methodKind;
  return {
    path: `/${method.parent.typeName}/${method.name}`,
    requestStream: kind === 'client_streaming' || kind === 'bidi_streaming',
    responseStream: kind === 'server_streaming' || kind === 'bidi_streaming',
    requestSerialize: (message) => Buffer.from(toBinary(method.input, message)),
    requestDeserialize: (bytes) => fromBinary(method.input, bytes),
    // Only server streams fan one message out to many calls; a unary or bidi
    // response is written once, so caching its bytes would be pure overhead.
    responseSerialize:
      kind === 'server_streaming'
        ? (message) => serializeOnce(method.output, message)
        : (message) => Buffer.from(toBinary(method.output, message)),
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

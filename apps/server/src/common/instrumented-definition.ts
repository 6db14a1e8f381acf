import {
  TelemetryService,
  WatchSessionResponseSchema,
  type PackageDefinition,
  type WatchSessionResponse,
} from '@trainwatch/proto';
import type { MethodDefinition } from '@grpc/grpc-js';
import type { MetricsService } from '../metrics/metrics.service';

/** Wire size of each trainer message as it arrived (read by the per-key byte limit). */
const wireSizes = new WeakMap<object, number>();

/** The encoded size a trainer message arrived with; 0 for one this module did not decode. */
export function wireSize(message: object): number {
  return wireSizes.get(message) ?? 0;
}

/**
 * Wraps a package definition's (de)serializers so every native gRPC message
 * is counted, with its exact wire size, without serializing anything twice.
 */
export function instrumentPackageDefinition(
  definition: PackageDefinition,
  metrics: MetricsService,
): PackageDefinition {
  const instrumented: PackageDefinition = {};
  for (const [serviceName, service] of Object.entries(definition)) {
    if (!('format' in service) || service.format === undefined) {
      const methods: Record<string, MethodDefinition<unknown, unknown>> = {};
      for (const [name, method] of Object.entries(
        service as Record<string, MethodDefinition<unknown, unknown>>,
      )) {
        methods[name] = {
          ...method,
          requestDeserialize: (bytes: Buffer) => {
            // bytes_in counts what trainers send; dashboard requests are tiny and not "ingest".
            if (serviceName !== TelemetryService.typeName) return method.requestDeserialize(bytes);
            metrics.bytesIn += bytes.length;
            const message = method.requestDeserialize(bytes);
            if (typeof message === 'object' && message !== null)
              wireSizes.set(message, bytes.length);
            return message;
          },
          responseSerialize: (message: unknown) => {
            const bytes = method.responseSerialize(message);
            metrics.messagesOut.grpc += 1;
            metrics.bytesOut.grpc += bytes.length;
            if (
              (message as { $typeName?: string }).$typeName === WatchSessionResponseSchema.typeName
            )
              metrics.observeDelivery('grpc', message as WatchSessionResponse);
            return bytes;
          },
        };
      }
      instrumented[serviceName] = methods;
    } else {
      instrumented[serviceName] = service;
    }
  }
  return instrumented;
}

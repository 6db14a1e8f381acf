import { TelemetryService, type PackageDefinition } from '@trainwatch/proto';
import type { MethodDefinition } from '@grpc/grpc-js';
import type { MetricsService } from '../metrics/metrics.service';

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
            if (serviceName === TelemetryService.typeName) metrics.bytesIn += bytes.length;
            return method.requestDeserialize(bytes);
          },
          responseSerialize: (message: unknown) => {
            const bytes = method.responseSerialize(message);
            metrics.messagesOut.grpc += 1;
            metrics.bytesOut.grpc += bytes.length;
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

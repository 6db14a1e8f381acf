import type { MethodDefinition } from '@grpc/grpc-js';
import { TelemetryService, type PackageDefinition } from '@trainwatch/proto';

type Methods = Record<string, MethodDefinition<unknown, unknown>>;

/**
 * Other paths a service answers on, for trainers built from earlier
 * documents of the contract: the design's generated code loads package
 * `telemetry` (no `v1`), and the older design document calls the trainer
 * stream `StreamTelemetry`. The wire format is the same, so the same
 * handlers serve them.
 */
export const COMPATIBILITY_ALIASES: readonly {
  /** Fully-qualified name of the served service. */
  service: string;
  /** Other fully-qualified names the service answers to, with every method. */
  serviceNames: readonly string[];
  /** Other method names, each mapped to the method it means. */
  methodNames: Readonly<Record<string, string>>;
}[] = [
  {
    service: TelemetryService.typeName,
    serviceNames: ['telemetry.TelemetryService'],
    methodNames: { StreamTelemetry: 'StreamMetrics' },
  },
];

/**
 * Adds the compatibility paths to a package definition, in the served
 * service's own definition: each alias is a method entry with the alias
 * path and `originalName` set to the method it stands for. grpc-js binds an
 * entry to the implementation under its `originalName` when there is none
 * under its own key, so every alias reaches the one handler Nest bound to
 * the real method; Nest itself finds no handler for the alias keys and
 * leaves them alone.
 */
export function withCompatibilityPaths(definition: PackageDefinition): PackageDefinition {
  const result: PackageDefinition = { ...definition };
  for (const alias of COMPATIBILITY_ALIASES) {
    const methods = definition[alias.service] as Methods | undefined;
    if (methods === undefined) continue;
    const extended: Methods = { ...methods };
    const names: [string, string][] = [
      ...Object.keys(methods).map((name): [string, string] => [name, name]),
      ...Object.entries(alias.methodNames),
    ];
    for (const serviceName of [alias.service, ...alias.serviceNames]) {
      for (const [name, target] of names) {
        const method = methods[target];
        const path = `/${serviceName}/${name}`;
        if (method === undefined || path === method.path) continue;
        extended[path] = { ...method, path, originalName: target };
      }
    }
    result[alias.service] = extended;
  }
  return result;
}

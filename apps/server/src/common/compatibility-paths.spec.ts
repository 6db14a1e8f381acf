import type { MethodDefinition } from '@grpc/grpc-js';
import { DashboardService, TelemetryService, toPackageDefinition } from '@trainwatch/proto';
import { withCompatibilityPaths } from './compatibility-paths';

type Methods = Record<string, MethodDefinition<unknown, unknown>>;

describe('withCompatibilityPaths', () => {
  const definition = toPackageDefinition(TelemetryService, DashboardService);
  const served = withCompatibilityPaths(definition);
  const telemetry = served[TelemetryService.typeName] as Methods;

  it('adds each alias path, pointing at the method it stands for', () => {
    const aliases = Object.values(telemetry)
      .filter((method) => method.originalName !== undefined)
      .map((method) => [method.path, method.originalName]);
    expect(aliases.sort()).toEqual([
      ['/telemetry.TelemetryService/RegisterTrainingSession', 'RegisterTrainingSession'],
      ['/telemetry.TelemetryService/StreamMetrics', 'StreamMetrics'],
      ['/telemetry.TelemetryService/StreamTelemetry', 'StreamMetrics'],
      ['/telemetry.v1.TelemetryService/StreamTelemetry', 'StreamMetrics'],
    ]);
  });

  it('keeps the real methods, the other services, and the (de)serializers as they are', () => {
    const original = definition[TelemetryService.typeName] as Methods;
    expect(telemetry['StreamMetrics']).toBe(original['StreamMetrics']);
    expect(telemetry['/telemetry.TelemetryService/StreamTelemetry']?.requestDeserialize).toBe(
      original['StreamMetrics']?.requestDeserialize,
    );
    expect(served[DashboardService.typeName]).toBe(definition[DashboardService.typeName]);
    expect(definition[TelemetryService.typeName]).not.toBe(telemetry);
  });
});

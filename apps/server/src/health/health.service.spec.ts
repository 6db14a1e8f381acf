import { create } from '@bufbuild/protobuf';
import { status } from '@grpc/grpc-js';
import { ServiceUnavailableException } from '@nestjs/common';
import { HealthCheckRequestSchema, HealthCheckResponse_ServingStatus } from '@trainwatch/proto';
import { HealthService } from './health.service';

describe('HealthService', () => {
  it('is NOT_SERVING (and /healthz 503) until started and again once shutdown begins', () => {
    const health = new HealthService();
    const check = () => health.check(create(HealthCheckRequestSchema, { service: '' })).status;
    expect(check()).toBe(HealthCheckResponse_ServingStatus.NOT_SERVING);
    expect(() => health.httpReport(0)).toThrow(ServiceUnavailableException);
    health.setServing(true);
    expect(check()).toBe(HealthCheckResponse_ServingStatus.SERVING);
    expect(health.httpReport(2)).toEqual({
      status: 'ok',
      sessions: 2,
      uptimeSec: expect.any(Number),
    });
    health.setServing(false);
    expect(check()).toBe(HealthCheckResponse_ServingStatus.NOT_SERVING);
    expect(() => health.httpReport(2)).toThrow(ServiceUnavailableException);
  });

  it('answers for both telemetry services and NOT_FOUND for others', () => {
    const health = new HealthService();
    health.setServing(true);
    for (const service of ['telemetry.v1.TelemetryService', 'telemetry.v1.DashboardService']) {
      expect(health.check(create(HealthCheckRequestSchema, { service })).status).toBe(
        HealthCheckResponse_ServingStatus.SERVING,
      );
    }
    expect(() => health.check(create(HealthCheckRequestSchema, { service: 'x.Y' }))).toThrow(
      expect.objectContaining({ code: status.NOT_FOUND }),
    );
  });
});

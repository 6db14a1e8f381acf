import { AdminService, AuthService, DashboardService, TelemetryService } from '@trainwatch/proto';
import { accessFor } from './access-policy';

describe('access policy', () => {
  it('has a rule for every rpc the server serves (a method without one is refused to everyone)', () => {
    const missing = [TelemetryService, DashboardService, AuthService, AdminService]
      .flatMap((service) => service.methods.map((method) => `/${service.typeName}/${method.name}`))
      .filter((path) => accessFor(path) === undefined);
    expect(missing).toEqual([]);
  });

  it('keeps people management to admins and commands to operators', () => {
    expect(accessFor('/telemetry.v1.AdminService/CreateApiKey')).toEqual({
      kind: 'person',
      role: 'admin',
    });
    expect(accessFor('/telemetry.v1.DashboardService/AcknowledgeAlert')).toEqual({
      kind: 'person',
      role: 'operator',
    });
    expect(accessFor('/telemetry.v1.DashboardService/GetConfusionMatrix')).toEqual({
      kind: 'person',
      role: 'viewer',
    });
  });
});

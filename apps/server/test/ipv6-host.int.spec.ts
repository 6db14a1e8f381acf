import { grpcDashboard, register, startTestServer, telemetryClient } from './harness';

/** HOST=::1 (or [::1]): both listeners on the IPv6 loopback, and the addresses printed usable. */
describe('HOST on the IPv6 loopback', () => {
  it.each(['::1', '[::1]'])(
    'HOST=%s: trainers register, dashboards list, /healthz answers',
    async (host) => {
      const server = await startTestServer({ HOST: host });
      const telemetry = telemetryClient(server.grpcAddress);
      const dashboard = grpcDashboard(server.grpcAddress);
      try {
        expect(server.grpcAddress).toMatch(/^\[::1\]:\d+$/);
        expect(server.httpUrl).toMatch(/^http:\/\/\[::1\]:\d+$/);
        await register(telemetry, { sessionId: 'on-ipv6' });
        expect((await dashboard.listSessions({})).sessions.map((s) => s.sessionId)).toEqual([
          'on-ipv6',
        ]);
        expect(await (await fetch(`${server.httpUrl}/healthz`)).text()).toMatch(/ok/i);
      } finally {
        dashboard.close();
        telemetry.close();
        await server.shutdown();
      }
    },
  );
});

import { loadServerConfig } from './server-config';

describe('loadServerConfig', () => {
  it('bounds held image bytes at 256 MiB and unbound streams at 10 s by default', () => {
    const settings = loadServerConfig({});
    expect(settings.imageMemoryBudgetBytes).toBe(256 * 1024 * 1024);
    expect(settings.streamBindTimeoutMs).toBe(10_000);
  });

  it('the default bind timeout leaves an idle trainer two heartbeat intervals to send its first one', () => {
    expect(loadServerConfig({ HEARTBEAT_INTERVAL_MS: '30000' }).streamBindTimeoutMs).toBe(60_000);
  });

  it('refuses a bind timeout an idle trainer could not meet: not longer than the heartbeat interval', () => {
    expect(() =>
      loadServerConfig({ HEARTBEAT_INTERVAL_MS: '2000', STREAM_BIND_TIMEOUT_MS: '2000' }),
    ).toThrow(/STREAM_BIND_TIMEOUT_MS="2000" is invalid: expected an integer from 2001/);
    expect(loadServerConfig({ STREAM_BIND_TIMEOUT_MS: '2001' }).streamBindTimeoutMs).toBe(2001);
  });

  it('refuses a negative image memory budget; 0 holds no frames at all', () => {
    expect(() => loadServerConfig({ IMAGE_MEMORY_BUDGET_BYTES: '-1' })).toThrow(
      /IMAGE_MEMORY_BUDGET_BYTES/,
    );
    expect(loadServerConfig({ IMAGE_MEMORY_BUDGET_BYTES: '0' }).imageMemoryBudgetBytes).toBe(0);
  });
});

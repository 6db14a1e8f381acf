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

  it('FRAMES_DIR moves PostgreSQL image frames to files; refused without DATABASE_URL', () => {
    const url = 'postgres://trainwatch@db:5432/trainwatch';
    expect(loadServerConfig({ DATABASE_URL: url }).framesDir).toBe('');
    expect(loadServerConfig({ DATABASE_URL: url, FRAMES_DIR: '/frames' }).framesDir).toBe(
      '/frames',
    );
    expect(() => loadServerConfig({ FRAMES_DIR: '/frames' })).toThrow(
      /FRAMES_DIR="\/frames" is invalid: expected unset unless DATABASE_URL is set \(SQLite keeps image frames in DATA_DIR\/frames\)/,
    );
    expect(() => loadServerConfig({ STORE_ENGINE: 'memory', FRAMES_DIR: '/frames' })).toThrow(
      /FRAMES_DIR/,
    );
  });

  describe('teams and auth', () => {
    it('AUTH=off (the default) binds loopback only', () => {
      const settings = loadServerConfig({});
      expect(settings.auth).toBe('off');
      expect(settings.host).toBe('127.0.0.1');
      expect(loadServerConfig({ AUTH: 'required' }).host).toBe('0.0.0.0');
    });

    it('refuses AUTH=off on an address other machines reach, in one line, unless told explicitly', () => {
      expect(() => loadServerConfig({ HOST: '0.0.0.0' })).toThrow(
        /^HOST="0.0.0.0" is invalid: expected a loopback address while AUTH=off \(set AUTH=required, or ALLOW_INSECURE_NETWORK=1 to serve without auth anyway\)$/,
      );
      expect(loadServerConfig({ HOST: '0.0.0.0', ALLOW_INSECURE_NETWORK: '1' }).host).toBe(
        '0.0.0.0',
      );
      expect(loadServerConfig({ HOST: '0.0.0.0', AUTH: 'required' }).host).toBe('0.0.0.0');
      expect(loadServerConfig({ HOST: '::1' }).host).toBe('::1');
      expect(loadServerConfig({ HOST: '[::1]' }).host).toBe('::1');
    });

    it('refuses unknown AUTH values, and AUTH=required with no store to keep users in', () => {
      expect(() => loadServerConfig({ AUTH: 'yes' })).toThrow(
        /AUTH="yes" is invalid: expected off or required/,
      );
      expect(() => loadServerConfig({ AUTH: 'required', STORE_ENGINE: 'memory' })).toThrow(
        /users and keys live in the store/,
      );
    });

    it('CORS is same-origin by default; CORS_ORIGINS is an exact list', () => {
      expect(loadServerConfig({}).corsOrigins).toEqual([]);
      expect(
        loadServerConfig({ CORS_ORIGINS: 'https://a.example, https://b.example' }).corsOrigins,
      ).toEqual(['https://a.example', 'https://b.example']);
      // As a browser sends it: no trailing slash, default port dropped.
      expect(
        loadServerConfig({ CORS_ORIGINS: 'https://b.example/, http://c.example:80, *' })
          .corsOrigins,
      ).toEqual(['https://b.example', 'http://c.example', '*']);
      for (const bad of ['https://b.example/app', 'b.example', 'ftp://b.example']) {
        expect(() => loadServerConfig({ CORS_ORIGINS: `https://a.example,${bad}` })).toThrow(
          new RegExp(
            `^CORS_ORIGINS=.* is invalid: expected .*not "${bad.replace(/[./]/g, '\\$&')}"$`,
          ),
        );
      }
    });

    it('never puts ADMIN_TOKEN in an error message', () => {
      expect(() => loadServerConfig({ ADMIN_TOKEN: 'tok-123', AUTH: 'bogus' })).toThrow(
        expect.objectContaining({ message: expect.not.stringContaining('tok-123') }) as Error,
      );
    });
  });
});

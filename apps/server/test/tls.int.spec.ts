import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// eslint-disable-next-line @nx/enforce-module-boundaries -- TLS needs both ends: the SDK is the client under test.
import { TrainingSession, type SessionError } from '@trainwatch/trainer-sdk';
import { waitFor } from '@trainwatch/testing';
import { AUTH_STORE } from '../src/auth/auth-tokens';
import type { AuthStore } from '../src/auth/auth-store';
import { startTestServer, type TestServer } from './harness';

/** A CA and a server certificate for `name`, signed by it, made with the openssl CLI. */
function makeCertificates(dir: string, prefix: string, name: string) {
  const file = (suffix: string) => join(dir, `${prefix}-${suffix}`);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    `/CN=${prefix} test CA`,
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.pem'),
  );
  openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    `/CN=${name}`,
    '-keyout',
    file('server.key'),
    '-out',
    file('server.csr'),
  );
  execFileSync('sh', ['-c', `printf 'subjectAltName=DNS:${name}' > ${file('ext')}`]);
  openssl(
    'x509',
    '-req',
    '-in',
    file('server.csr'),
    '-CA',
    file('ca.pem'),
    '-CAkey',
    file('ca.key'),
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    file('ext'),
    '-out',
    file('server.pem'),
  );
  return { ca: file('ca.pem'), cert: file('server.pem'), key: file('server.key') };
}

describe('TLS (TLS_CERT_FILE/TLS_KEY_FILE) with AUTH=required', () => {
  const dir = mkdtempSync(join(tmpdir(), 'trainwatch-tls-'));
  const good = makeCertificates(dir, 'good', 'trainwatch.test');
  const other = makeCertificates(dir, 'other', 'trainwatch.test');
  let server: TestServer;
  let apiKey: string;

  beforeAll(async () => {
    server = await startTestServer({
      AUTH: 'required',
      TLS_CERT_FILE: good.cert,
      TLS_KEY_FILE: good.key,
    });
    const store = server.app.get<symbol, AuthStore>(AUTH_STORE);
    await store.createUser('tina', 'viewer', '');
    apiKey = (await store.createKey('tina', '')).secret;
  }, 30_000);
  afterAll(async () => {
    await server.shutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  const config = { totalEpochs: 1, batchesPerEpoch: 10, batchSize: 1 };

  it('the TypeScript SDK streams over TLS with the CA the test made and a server name override', async () => {
    expect(server.httpUrl.startsWith('https://')).toBe(true);
    const session = await TrainingSession.connect({
      address: server.grpcAddress,
      apiKey,
      tls: { caFile: good.ca, serverName: 'trainwatch.test' },
      config,
      systemMetrics: false,
    });
    session.logBatch({ epoch: 0, batchIdx: 0, loss: 0.5 });
    expect(await session.flush(5000)).toBe(true);
    await session.close({ flushTimeoutMs: 1000 });
  });

  it('a wrong CA fails with an error that says the certificate was not trusted', async () => {
    const errors: SessionError[] = [];
    const session = await TrainingSession.connect({
      address: server.grpcAddress,
      apiKey,
      tls: { caFile: other.ca, serverName: 'trainwatch.test' },
      config,
      systemMetrics: false,
      connectTimeoutMs: 2000,
      onError: (error) => errors.push(error),
    });
    const failure = await waitFor(() => errors.find((error) => error.kind === 'connection'), {
      what: 'connection error',
    });
    expect(failure.message).toMatch(/certificate|self.signed|verify/i);
    await session.close({ flushTimeoutMs: 0 });
  });

  it('without the API key the SDK stops with a terminal not-authorized error', async () => {
    const errors: SessionError[] = [];
    const session = await TrainingSession.connect({
      address: server.grpcAddress,
      apiKey: '',
      tls: { caFile: good.ca, serverName: 'trainwatch.test' },
      config,
      systemMetrics: false,
      connectTimeoutMs: 1000,
      onError: (error) => errors.push(error),
    });
    const terminated = await waitFor(() => errors.find((error) => error.kind === 'terminated'), {
      what: 'terminated',
    });
    expect(terminated).toMatchObject({ reason: 'not-authorized' });
    expect(terminated.message).toMatch(/needs an API key/);
    await session.close({ flushTimeoutMs: 0 });
  });
});

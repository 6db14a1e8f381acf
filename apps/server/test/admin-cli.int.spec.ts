import { status } from '@grpc/grpc-js';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  runAdminCommand,
  TrainerStreamClient,
  expectCallError,
  register,
  startTestServer,
  telemetryClient,
} from './harness';

describe('npm run admin', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'trainwatch-admin-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('says so for an unknown command before opening any store, and for an empty list', async () => {
    const notYet = join(dataDir, 'not-yet');
    const unknown = await runAdminCommand({ DATA_DIR: notYet }, ['bogus']);
    expect(unknown.code).toBe(2);
    expect(unknown.out[0]).toBe('admin: unknown command "bogus"');
    expect(unknown.out[1]).toMatch(/^usage: npm run admin -- <command>/);
    expect(existsSync(notYet)).toBe(false);
    const empty = await runAdminCommand({ DATA_DIR: notYet }, ['list']);
    expect(empty).toMatchObject({
      code: 0,
      out: [
        'no users or API keys in this store yet: npm run admin -- create-user <name> --role admin',
      ],
    });
  });

  it('creates users and keys in the store a server then accepts; a revoked key is refused', async () => {
    expect(
      (
        await runAdminCommand(
          { DATA_DIR: dataDir },
          ['create-user', 'ada', '--role', 'operator', '--password-stdin'],
          'pw-123456789',
        )
      ).code,
    ).toBe(0);
    expect(
      (await runAdminCommand({ DATA_DIR: dataDir }, ['create-user', 'ada', '--role', 'viewer']))
        .out,
    ).toEqual(['admin: user "ada" already exists']);
    expect(
      (await runAdminCommand({ DATA_DIR: dataDir }, ['create-user', 'bob', '--role', 'root'])).code,
    ).toBe(2);
    const created = await runAdminCommand({ DATA_DIR: dataDir }, [
      'create-key',
      'ada',
      '--name',
      'gpu-1',
    ]);
    expect(created.code).toBe(0);
    const secret = created.out[1] ?? '';
    expect(secret).toMatch(/^twk_/);
    const keyId = /^key (\w+)/.exec(created.out[0] ?? '')?.[1] ?? '';
    const listed = (await runAdminCommand({ DATA_DIR: dataDir }, ['list'])).out;
    expect(listed).toEqual(['user ada operator', `key ${keyId} ada gpu-1 active`]);
    // The list never shows a key's secret.
    expect(listed.join('\n')).not.toContain(secret);

    const server = await startTestServer({ AUTH: 'required', DATA_DIR: dataDir });
    try {
      const telemetry = telemetryClient(server.grpcAddress, secret);
      const { sessionId } = await register(telemetry);
      const stream = new TrainerStreamClient(telemetry, sessionId);
      stream.batch(1n, 0, 0);
      await stream.waitForAck(1n);
      // The CLI works on the store while the server runs: the revocation is seen on the next call.
      expect((await runAdminCommand({ DATA_DIR: dataDir }, ['revoke-key', keyId])).code).toBe(0);
      expect((await expectCallError(register(telemetry))).code).toBe(status.UNAUTHENTICATED);
      stream.end();
      telemetry.close();
    } finally {
      await server.shutdown();
    }
    expect((await runAdminCommand({ DATA_DIR: dataDir }, ['list'])).out).toContain(
      `key ${keyId} ada gpu-1 revoked`,
    );
    expect(
      (await runAdminCommand({ DATA_DIR: dataDir }, ['set-role', 'ada', 'admin'])).out,
    ).toEqual(['ada is now admin']);
  });
});

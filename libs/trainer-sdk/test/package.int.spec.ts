import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startServerProcess, WORKSPACE_ROOT, type ServerProcess } from '@trainwatch/testing';
import { SDK_VERSION } from '../src';
import { DashboardClient } from './dashboard-client';

const PACKAGE_DIR = join(WORKSPACE_ROOT, 'dist/libs/trainer-sdk');
const run = promisify(execFile);

describe('the built package', () => {
  let server: ServerProcess;

  beforeAll(async () => {
    if (!existsSync(join(PACKAGE_DIR, 'package.json'))) {
      throw new Error(`${PACKAGE_DIR} is missing: run \`npx nx build trainer-sdk\` first`);
    }
    server = await startServerProcess();
  });

  afterAll(async () => {
    await server.stop();
  });

  it('declares CommonJS, the Node range, and entry points that exist, with the contract bundled', () => {
    const manifest = JSON.parse(readFileSync(join(PACKAGE_DIR, 'package.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(manifest).toMatchObject({
      name: '@trainwatch/trainer-sdk',
      type: 'commonjs',
      version: SDK_VERSION,
    });
    expect(manifest['engines']).toEqual({ node: '>=20.19' });
    expect(existsSync(join(PACKAGE_DIR, manifest['main'] as string))).toBe(true);
    expect(existsSync(join(PACKAGE_DIR, manifest['types'] as string))).toBe(true);
    const compiled = readFileSync(join(PACKAGE_DIR, manifest['main'] as string), 'utf8');
    expect(compiled).not.toContain('@trainwatch/');
  });

  it('is usable from plain JavaScript with require(), streaming batches the server counts', async () => {
    const client = join(__dirname, 'plain-js-client.cjs');
    const { stdout } = await run(process.execPath, [client, PACKAGE_DIR, server.grpcAddress], {
      timeout: 20_000,
    });
    const stats = JSON.parse(stdout.trim()) as {
      acked: number;
      lastSequence: number;
      buffered: number;
    };
    expect(stats.buffered).toBe(0);
    expect(stats.acked).toBe(stats.lastSequence);
    const dashboard = new DashboardClient(server.grpcAddress);
    const summary = await dashboard.session('plain-js');
    dashboard.close();
    expect(summary).toMatchObject({
      clientName: 'plain-js-test',
      batchesReceived: 3n,
      statusMessage: 'finished',
    });
  });
});

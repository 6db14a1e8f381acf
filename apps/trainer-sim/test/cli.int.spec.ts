import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { create } from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import {
  CommandState,
  CommandType,
  DashboardService,
  ListSessionsRequestSchema,
  SendCommandRequestSchema,
  TrainingStatus,
  toGrpcMethodDefinition,
  type SendCommandResponse,
  type SessionSummary,
} from '@trainwatch/proto';
import {
  startServerProcess,
  waitFor,
  WORKSPACE_ROOT,
  type ServerProcess,
} from '@trainwatch/testing';

const CLI = join(WORKSPACE_ROOT, 'dist/apps/trainer-sim/main.js');
const list = toGrpcMethodDefinition(DashboardService.method.listSessions);
const send = toGrpcMethodDefinition(DashboardService.method.sendCommand);

/** The built CLI as a child process, with its output collected. */
function startCli(args: string[]) {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: WORKSPACE_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

describe('trainer-sim CLI against the real server', () => {
  let server: ServerProcess;
  let client: grpc.Client;

  const sessions = () =>
    new Promise<SessionSummary[]>((resolve, reject) =>
      client.makeUnaryRequest(
        list.path,
        list.requestSerialize,
        list.responseDeserialize,
        create(ListSessionsRequestSchema),
        (e, v) => (e || !v ? reject(e ?? new Error('empty')) : resolve(v.sessions)),
      ),
    );
  const command = (sessionId: string, type: CommandType) =>
    new Promise<SendCommandResponse>((resolve, reject) =>
      client.makeUnaryRequest(
        send.path,
        send.requestSerialize,
        send.responseDeserialize,
        create(SendCommandRequestSchema, { sessionId, type, issuedBy: 'cli-test' }),
        (e, v) => (e || !v ? reject(e ?? new Error('empty')) : resolve(v)),
      ),
    );

  beforeAll(async () => {
    if (!existsSync(CLI))
      throw new Error(`${CLI} is missing: run \`npx nx build trainer-sim\` first`);
    server = await startServerProcess();
    client = new grpc.Client(server.grpcAddress, grpc.credentials.createInsecure());
  });

  afterAll(async () => {
    client.close();
    await server.stop();
  });

  it('--help prints usage and exits 0; a bad option exits 2 naming it', async () => {
    const help = startCli(['--help']);
    expect(await help.exited).toBe(0);
    expect(help.output()).toMatch(/--server <host:port>/);
    const bad = startCli(['--fps', 'fast']);
    expect(await bad.exited).toBe(2);
    expect(bad.output()).toMatch(/--fps must be a number/);
  });

  it('streams a whole run: every batch, epoch lines, images, COMPLETED, exit 0', async () => {
    const cli = startCli([
      '--server',
      server.grpcAddress,
      '--epochs',
      '2',
      '--batches',
      '15',
      '--fps',
      '60',
      '--images',
      '4',
      '--name',
      'cli-full',
      '--seed',
      '1',
    ]);
    expect(await cli.exited).toBe(0);
    expect(cli.output()).toMatch(/epoch 1\/2: loss \d+\.\d+, accuracy \d+\.\d%/);
    expect(cli.output()).toMatch(/epoch 2\/2/);
    expect(cli.output()).toMatch(/completed after 30 batches/);
    const run = (await sessions()).find((s) => s.sessionId.startsWith('cli-full-'));
    expect(run).toMatchObject({
      clientName: 'trainer-sim',
      status: TrainingStatus.COMPLETED,
      batchesReceived: 30n,
      config: { totalEpochs: 2, batchesPerEpoch: 15 },
    });
    // Summaries carry the number of classes; the names are in the watch snapshot.
    expect(run?.classCount).toBe(10);
    // The demo's named series and metadata: lr, grad_norm, train/acc per batch, val/* per epoch.
    expect(run?.seriesCount).toBeGreaterThanOrEqual(6);
    expect(run?.metadata?.tags).toEqual(['simulated', 'cifar10']);
    expect(run?.metadata?.hyperparameters.optimizer?.kind).toEqual({ case: 'text', value: 'sgd' });
  });

  it('obeys pause, resume and stop from the dashboard, prints them, and exits 0', async () => {
    const cli = startCli([
      '--server',
      server.grpcAddress,
      '--epochs',
      '100',
      '--batches',
      '100',
      '--fps',
      '30',
      '--images',
      '2',
      '--name',
      'cli-steer',
    ]);
    const run = await waitFor(
      async () =>
        (await sessions()).find(
          (s) => s.sessionId.startsWith('cli-steer-') && s.batchesReceived > 0n,
        ),
      {
        what: 'the simulated run to stream',
      },
    );
    const paused = await command(run.sessionId, CommandType.PAUSE);
    expect(paused.entry?.state).toBe(CommandState.SUCCEEDED);
    await waitFor(() => /paused/.test(cli.output()), { what: '"paused" printed' });
    const held = (await sessions()).find((s) => s.sessionId === run.sessionId)!.batchesReceived;
    const resumed = await command(run.sessionId, CommandType.RESUME);
    expect(resumed.status).toBe(TrainingStatus.RUNNING);
    await waitFor(
      async () =>
        (await sessions()).find((s) => s.sessionId === run.sessionId)!.batchesReceived > held,
      {
        what: 'batches after RESUME',
      },
    );
    const stopped = await command(run.sessionId, CommandType.STOP);
    expect(stopped.entry?.state).toBe(CommandState.SUCCEEDED);
    expect(await cli.exited).toBe(0);
    expect(cli.output()).toMatch(/command PAUSE from cli-test/);
    expect(cli.output()).toMatch(/command RESUME from cli-test/);
    expect(cli.output()).toMatch(/stopped after \d+ batches/);
    const final = (await sessions()).find((s) => s.sessionId === run.sessionId);
    expect(final).toMatchObject({
      status: TrainingStatus.COMPLETED,
      statusMessage: 'stopped from the dashboard',
    });
  });

  it('SIGTERM ends the run cleanly: status reported, exit 0', async () => {
    const cli = startCli([
      '--server',
      server.grpcAddress,
      '--epochs',
      '100',
      '--fps',
      '30',
      '--images',
      '1',
      '--name',
      'cli-term',
    ]);
    const run = await waitFor(
      async () =>
        (await sessions()).find(
          (s) => s.sessionId.startsWith('cli-term-') && s.batchesReceived > 0n,
        ),
      { what: 'the simulated run to stream' },
    );
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
    expect(cli.output()).toMatch(/SIGTERM: stopping/);
    const final = (await sessions()).find((s) => s.sessionId === run.sessionId);
    expect(final).toMatchObject({
      status: TrainingStatus.COMPLETED,
      statusMessage: 'interrupted on the trainer',
    });
  });
});

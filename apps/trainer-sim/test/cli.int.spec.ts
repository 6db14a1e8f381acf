import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
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
  WatchSessionRequestSchema,
  toGrpcMethodDefinition,
  type BatchEvent,
  type SendCommandResponse,
  type SessionSummary,
  type WatchSessionResponse,
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
const watch = toGrpcMethodDefinition(DashboardService.method.watchSession);

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

  const custom = (sessionId: string, customName: string, lr?: number) =>
    new Promise<SendCommandResponse>((resolve, reject) =>
      client.makeUnaryRequest(
        send.path,
        send.requestSerialize,
        send.responseDeserialize,
        create(SendCommandRequestSchema, {
          sessionId,
          type: CommandType.CUSTOM,
          customName,
          arguments: lr === undefined ? {} : { lr: { kind: { case: 'number', value: lr } } },
          issuedBy: 'cli-test',
        }),
        (e, v) => (e || !v ? reject(e ?? new Error('empty')) : resolve(v)),
      ),
    );

  /** The batches a watch of `sessionId` sees live, until `stop()`. */
  const watchBatches = (sessionId: string) => {
    const batches: BatchEvent[] = [];
    const call = client.makeServerStreamRequest(
      watch.path,
      watch.requestSerialize,
      watch.responseDeserialize,
      create(WatchSessionRequestSchema, { sessionId }),
    );
    call.on('data', (response: WatchSessionResponse) => {
      if (response.event.case === 'batch') batches.push(response.event.value);
    });
    call.on('error', () => undefined);
    return { batches, stop: () => call.cancel() };
  };

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

  it('stops at once with exit 1 when the server refuses the run for good (no API key where one is required)', async () => {
    const guarded = await startServerProcess({ env: { AUTH: 'required' } });
    try {
      const cli = startCli(['--server', guarded.grpcAddress, '--fps', '50', '--batches', '1000']);
      const started = Date.now();
      expect(await cli.exited).toBe(1);
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(cli.output()).toMatch(/run failed: Error: the server refused \S+ for good \(.*\)/);
    } finally {
      await guarded.stop();
    }
  });

  it('says once that the server takes fewer images per batch, then counts the batches at each epoch', async () => {
    const small = await startServerProcess({ env: { MAX_IMAGES_PER_BATCH: '4' } });
    try {
      const cli = startCli([
        ...['--server', small.grpcAddress, '--fps', '200', '--epochs', '1'],
        ...['--batches', '10', '--images', '16'],
      ]);
      expect(await cli.exited).toBe(0);
      expect(cli.output().match(/sent 4 of 16 images/g)).toHaveLength(1);
      expect(cli.output()).toContain('warning: images-trimmed on 9 more batch(es) since');
    } finally {
      await small.stop();
    }
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

  it('set_lr changes the lr series from the next batch; save_checkpoint answers the path it wrote', async () => {
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
      '0',
      '--name',
      'cli-custom',
    ]);
    const run = await waitFor(
      async () =>
        (await sessions()).find(
          (s) => s.sessionId.startsWith('cli-custom-') && s.batchesReceived > 0n,
        ),
      { what: 'the simulated run to stream' },
    );
    const live = watchBatches(run.sessionId);
    const set = await waitFor(
      // The handlers go out with a registration just after connecting; retry until they are known.
      () => custom(run.sessionId, 'set_lr', 0.0123).catch(() => undefined),
      { what: 'set_lr accepted' },
    );
    expect(set.entry).toMatchObject({ state: CommandState.SUCCEEDED, customName: 'set_lr' });
    const from = BigInt(/from step (\d+)/.exec(set.entry?.resultMessage ?? '')?.[1] ?? 'x');
    const next = await waitFor(() => live.batches.find((batch) => batch.step === from), {
      what: `the batch at step ${from}`,
    });
    expect(next.metrics['lr']).toBe(0.0123);
    const before = live.batches.find((batch) => batch.step === from - 1n);
    if (before !== undefined) expect(before.metrics['lr']).not.toBe(0.0123);

    const saved = await custom(run.sessionId, 'save_checkpoint');
    const path = saved.entry?.resultMessage ?? '';
    expect(path).toMatch(/checkpoint-step-\d+\.json$/);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({
      sessionId: run.sessionId,
      lr: 0.0123,
    });
    const badLr = await custom(run.sessionId, 'set_lr', -1);
    expect(badLr.entry).toMatchObject({
      state: CommandState.FAILED,
      resultMessage: 'handler failed: lr must be > 0, got -1',
    });
    live.stop();
    await command(run.sessionId, CommandType.STOP);
    expect(await cli.exited).toBe(0);
    expect(cli.output()).toMatch(/command set_lr from cli-test/);
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

import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import {
  create,
  createFileRegistry,
  fromBinary,
  toBinary,
  type DescService,
  type Message,
} from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import * as grpc from '@grpc/grpc-js';
import { CommandState, CommandType, ConnectionState, TrainingStatus } from '@trainwatch/proto';
import { waitFor } from '@trainwatch/testing';
import {
  grpcWebDashboard,
  makeJpeg,
  scalarEvents,
  startTestServer,
  type DashboardApi,
  type TestServer,
} from './harness';
import { SteadyTrainer } from './steady-trainer';

const workspaceRoot = path.resolve(__dirname, '../../..');
const seedProtoDir = path.join(__dirname, 'fixtures/seed-client');

/**
 * Compiles the seed reference's proto (package `telemetry`, StreamTelemetry,
 * no sequence, no command id, no CommandResult) with buf, as a team writing
 * its own client from the design documents would, and returns its registry.
 */
function seedRegistry() {
  const bytes = execFileSync(
    process.execPath,
    [
      path.join(workspaceRoot, 'node_modules/@bufbuild/buf/bin/buf'),
      'build',
      seedProtoDir,
      '--as-file-descriptor-set',
      '-o',
      '-#format=binpb',
    ],
    { cwd: workspaceRoot },
  );
  return createFileRegistry(fromBinary(FileDescriptorSetSchema, bytes));
}

/** A grpc-js client for `service` that (de)serializes with the seed's own message types. */
function seedClient(service: DescService, address: string) {
  const definition: grpc.ServiceDefinition = Object.fromEntries(
    service.methods.map((method) => [
      method.name,
      {
        path: `/${service.typeName}/${method.name}`,
        requestStream: method.methodKind === 'bidi_streaming',
        responseStream: method.methodKind === 'bidi_streaming',
        requestSerialize: (message: Message) => Buffer.from(toBinary(method.input, message)),
        requestDeserialize: (bytes: Buffer) => fromBinary(method.input, bytes),
        responseSerialize: (message: Message) => Buffer.from(toBinary(method.output, message)),
        responseDeserialize: (bytes: Buffer) => fromBinary(method.output, bytes),
      },
    ]),
  );
  const Client = grpc.makeGenericClientConstructor(definition, service.name);
  return new Client(address, grpc.credentials.createInsecure()) as grpc.Client &
    Record<string, (...args: unknown[]) => unknown>;
}

// The seed's messages come from its own descriptors, not generated types: fields by name.
type Fields = Record<string, unknown>;
interface Payload {
  case: string | undefined;
  value: Fields;
}
type Seed = Fields & { payload: Payload };

describe('a client written from the design documents alone', () => {
  let server: TestServer;
  let dashboard: DashboardApi;
  let healthy: SteadyTrainer;

  beforeAll(async () => {
    server = await startTestServer({ COMMAND_TIMEOUT_MS: '5000' });
    dashboard = grpcWebDashboard(server.httpUrl);
    healthy = new SteadyTrainer(server.grpcAddress, 'design-doc-healthy');
    await healthy.start();
  });

  afterAll(async () => {
    healthy.stop();
    dashboard.close();
    await server.shutdown();
  });

  it('streams a run under package telemetry without sequences, is acknowledged, and is paused, resumed and stopped from a browser dashboard', async () => {
    const registry = seedRegistry();
    const service = registry.getService('telemetry.TelemetryService')!;
    const message = (name: string) => registry.getMessage(`telemetry.${name}`)!;
    const client = seedClient(service, server.grpcAddress);

    const registered = await new Promise<Seed>((resolve, reject) =>
      client['RegisterTrainingSession'](
        create(message('SessionInfo'), {
          sessionId: 'design-doc-run',
          clientName: 'seed-client',
          config: { totalEpochs: 2, batchesPerEpoch: 50, batchSize: 8, classNames: ['a', 'b'] },
        }),
        (error: grpc.ServiceError | null, response: Seed) =>
          error ? reject(error) : resolve(response),
      ),
    );
    expect(registered['success']).toBe(true);
    const sessionId = registered['sessionId'] as string;

    const call = client['StreamTelemetry']() as grpc.ClientDuplexStream<Message, Seed>;
    const acks: Fields[] = [];
    const errors: Fields[] = [];
    const commands: number[] = [];
    const send = (payload: Payload) =>
      call.write(create(message('MetricsRequest'), { sessionId, payload } as never));
    const status = (value: TrainingStatus) =>
      send({ case: 'statusUpdate', value: { status: value } });
    // What the seed client does with a command: it can only say what it now is.
    const reached: Record<number, TrainingStatus> = {
      [CommandType.PAUSE]: TrainingStatus.PAUSED,
      [CommandType.RESUME]: TrainingStatus.RUNNING,
      [CommandType.STOP]: TrainingStatus.COMPLETED,
    };
    call.on('data', (response: Seed) => {
      const { case: kind, value } = response.payload;
      if (kind === 'ack') acks.push(value);
      if (kind === 'error') errors.push(value);
      if (kind === 'command') {
        const type = value['type'] as number;
        commands.push(type);
        status(reached[type]!);
      }
    });

    const watch = dashboard.watch(sessionId);
    await waitFor(() => watch.events[0], { what: 'snapshot' });
    status(TrainingStatus.RUNNING);
    const image = makeJpeg(8, 8);
    for (let batchIdx = 0; batchIdx < 5; batchIdx++) {
      send({
        case: 'batchData',
        value: {
          epoch: 0,
          batchIdx,
          batchSize: 8,
          batchLoss: 1 / (batchIdx + 1),
          images: [{ imageBytes: image, format: 'jpeg', width: 8, height: 8, channels: 3 }],
          predictions: [{ predictedClass: 1, confidence: 0.75 }],
          groundTruth: [0],
        },
      });
    }
    // One ack per message (the status update and five batches), by batch_idx.
    await waitFor(() => acks.length === 6, { what: 'six acks' });
    expect(acks.map((ack) => [ack['batchIdx'] ?? 0, ack['success']])).toEqual([
      [0, true],
      [0, true],
      [1, true],
      [2, true],
      [3, true],
      [4, true],
    ]);
    const batches = await waitFor(
      () => {
        const seen = scalarEvents(watch).filter((event) => event.event.case === 'batch');
        return seen.length === 5 && seen;
      },
      { what: 'five batches at the dashboard' },
    );
    expect(batches.map((event) => event.event.case === 'batch' && event.event.value.step)).toEqual([
      0n,
      1n,
      2n,
      3n,
      4n,
    ]);

    for (const type of [CommandType.PAUSE, CommandType.RESUME, CommandType.STOP]) {
      const started = Date.now();
      const response = await dashboard.sendCommand({ sessionId, type, issuedBy: 'e2e' });
      expect(response.entry).toMatchObject({ type, state: CommandState.SUCCEEDED });
      expect(response.status).toBe(reached[type]);
      // Completed by the status report, not by the 5 s timeout.
      expect(Date.now() - started).toBeLessThan(4000);
    }
    expect(commands).toEqual([CommandType.PAUSE, CommandType.RESUME, CommandType.STOP]);
    call.end();
    await waitFor(
      async () =>
        (await dashboard.listSessions()).sessions.find((s) => s.sessionId === sessionId)
          ?.connection === ConnectionState.CLOSED,
      { what: 'CLOSED after the run completed' },
    );
    expect(errors).toEqual([]);
    watch.cancel();
    client.close();
    // The healthy session kept being acknowledged throughout.
    await healthy.waitForAcks(3);
    expect(healthy.worstLatencyMs()).toBeLessThan(1000);
  });
});

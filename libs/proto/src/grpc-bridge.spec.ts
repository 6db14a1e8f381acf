import 'reflect-metadata';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { create } from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import { Controller, Module, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  GrpcMethod,
  GrpcStreamCall,
  Transport,
  type MicroserviceOptions,
} from '@nestjs/microservices';
import { Observable } from 'rxjs';
import {
  DashboardService,
  MetricsResponseSchema,
  SessionResponseSchema,
  TelemetryService,
  WatchSessionResponseSchema,
  toPackageDefinition,
  type MetricsRequest,
  type MetricsResponse,
  type SessionInfo,
  type SessionResponse,
  type WatchSessionRequest,
  type WatchSessionResponse,
  MetricsRequestSchema,
  SessionInfoSchema,
  WatchSessionRequestSchema,
} from './index';

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** What the handlers saw, so the test can assert on the server side too. */
const seen: { register?: SessionInfo; stream: MetricsRequest[]; watch?: WatchSessionRequest } = {
  stream: [],
};

@Controller()
class BridgeController {
  @GrpcMethod('TelemetryService', 'RegisterTrainingSession')
  register(info: SessionInfo): SessionResponse {
    seen.register = info;
    return create(SessionResponseSchema, {
      success: true,
      sessionId: info.sessionId,
      message: `hello ${info.clientName}`,
      serverConfig: { maxBatchSize: 16 },
    });
  }

  @GrpcStreamCall('TelemetryService', 'StreamMetrics')
  stream(call: grpc.ServerDuplexStream<MetricsRequest, MetricsResponse>): void {
    call.on('data', (request: MetricsRequest) => {
      seen.stream.push(request);
      call.write(
        create(MetricsResponseSchema, {
          sessionId: request.sessionId,
          payload: { case: 'ack', value: { sequence: request.sequence, success: true } },
        }),
      );
    });
    call.on('end', () => call.end());
  }

  @GrpcMethod('DashboardService', 'WatchSession')
  watch(request: WatchSessionRequest): Observable<WatchSessionResponse> {
    seen.watch = request;
    return new Observable((subscriber) => {
      for (let cursor = 1n; cursor <= 3n; cursor++) {
        subscriber.next(
          create(WatchSessionResponseSchema, {
            cursor,
            event: { case: 'keepalive', value: { serverTimeMs: 1000n * cursor } },
          }),
        );
      }
      subscriber.complete();
    });
  }
}

@Module({ controllers: [BridgeController] })
class BridgeModule {}

describe('grpc bridge: protobuf-es messages through Nest over a real socket', () => {
  let app: INestMicroservice;
  let address: string;
  const packageDefinition = toPackageDefinition(TelemetryService, DashboardService);
  // Nest looks services up by package name in the loaded definition.
  const loaded = grpc.loadPackageDefinition(packageDefinition) as unknown as {
    telemetry: { v1: Record<string, grpc.ServiceClientConstructor> };
  };
  let telemetry: grpc.Client & Record<string, (...args: unknown[]) => unknown>;
  let dashboard: grpc.Client & Record<string, (...args: unknown[]) => unknown>;

  beforeAll(async () => {
    address = `127.0.0.1:${await freePort()}`;
    app = await NestFactory.createMicroservice<MicroserviceOptions>(BridgeModule, {
      transport: Transport.GRPC,
      options: { url: address, package: 'telemetry.v1', packageDefinition },
      logger: false,
    });
    await app.listen();
    const credentials = grpc.credentials.createInsecure();
    telemetry = new loaded.telemetry.v1.TelemetryService(address, credentials) as typeof telemetry;
    dashboard = new loaded.telemetry.v1.DashboardService(address, credentials) as typeof dashboard;
  });

  afterAll(async () => {
    telemetry.close();
    dashboard.close();
    await app.close();
  });

  it('unary: the handler receives a protobuf-es message and the client gets one back', async () => {
    const request = create(SessionInfoSchema, {
      sessionId: 'run-1',
      clientName: 'spec',
      config: { totalEpochs: 3, classNames: ['cat', 'dog'] },
      timestampMs: 42n,
    });
    const response = await new Promise<SessionResponse>((resolve, reject) => {
      telemetry['RegisterTrainingSession'](request, (err: Error | null, res: SessionResponse) =>
        err ? reject(err) : resolve(res),
      );
    });
    expect(seen.register?.$typeName).toBe('telemetry.v1.SessionInfo');
    expect(seen.register?.config?.classNames).toEqual(['cat', 'dog']);
    expect(seen.register?.timestampMs).toBe(42n);
    expect(response.$typeName).toBe('telemetry.v1.SessionResponse');
    expect(response.message).toBe('hello spec');
    expect(response.serverConfig?.maxBatchSize).toBe(16);
  });

  it('bidi: every request is received typed and acknowledged in order', async () => {
    const call = telemetry['StreamMetrics']() as grpc.ClientDuplexStream<
      MetricsRequest,
      MetricsResponse
    >;
    const acks: bigint[] = [];
    call.on('data', (response: MetricsResponse) => {
      expect(response.$typeName).toBe('telemetry.v1.MetricsResponse');
      if (response.payload.case === 'ack') acks.push(response.payload.value.sequence);
    });
    for (let sequence = 1n; sequence <= 5n; sequence++) {
      call.write(
        create(MetricsRequestSchema, {
          sessionId: 'run-1',
          sequence,
          payload: { case: 'batchData', value: { batchIdx: Number(sequence), batchLoss: 0.5 } },
        }),
      );
    }
    call.end();
    await once(call, 'end');
    expect(acks).toEqual([1n, 2n, 3n, 4n, 5n]);
    expect(seen.stream.map((r) => r.$typeName)).toEqual(
      Array(5).fill('telemetry.v1.MetricsRequest'),
    );
    expect(seen.stream[4]?.payload).toMatchObject({ case: 'batchData', value: { batchIdx: 5 } });
  });

  it('server streaming: an Observable of protobuf-es messages arrives in order', async () => {
    const call = dashboard['WatchSession'](
      create(WatchSessionRequestSchema, { sessionId: 'run-1' }),
    ) as grpc.ClientReadableStream<WatchSessionResponse>;
    const cursors: bigint[] = [];
    call.on('data', (event: WatchSessionResponse) => cursors.push(event.cursor));
    await once(call, 'end');
    expect(seen.watch?.$typeName).toBe('telemetry.v1.WatchSessionRequest');
    expect(cursors).toEqual([1n, 2n, 3n]);
  });
});

describe('grpc bridge: response serialization', () => {
  const watch = toPackageDefinition(DashboardService)['telemetry.v1.DashboardService'] as Record<
    string,
    grpc.MethodDefinition<WatchSessionRequest, WatchSessionResponse>
  >;
  const serialize = watch['WatchSession']!.responseSerialize;

  it('encodes a message written to many streams once, and each message on its own', () => {
    const event = create(WatchSessionResponseSchema, {
      cursor: 7n,
      event: { case: 'keepalive', value: { serverTimeMs: 1n } },
    });
    const first = serialize(event);
    // Each write gets a view of the same encoded bytes: nothing encoded or copied again.
    const again = serialize(event);
    expect(again.buffer).toBe(first.buffer);
    expect(again.byteOffset).toBe(first.byteOffset);
    expect(again.byteLength).toBe(first.byteLength);
    const other = create(WatchSessionResponseSchema, { cursor: 8n });
    expect(serialize(other)).not.toBe(first);
    expect(Buffer.compare(serialize(other), first)).not.toBe(0);
  });
});

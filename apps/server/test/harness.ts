import { runAdmin } from '../src/admin/admin-cli';
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import type { DescService } from '@bufbuild/protobuf';
import { ConnectError, createClient, type Client, type Interceptor } from '@connectrpc/connect';
import { createGrpcWebTransport } from '@connectrpc/connect-web';
import {
  createGrpcTransport as createNodeGrpcTransport,
  createGrpcWebTransport as createNodeGrpcWebTransport,
} from '@connectrpc/connect-node';
import * as grpc from '@grpc/grpc-js';
import {
  DashboardService,
  Health,
  HealthCheckRequestSchema,
  ListSessionsRequestSchema,
  MetricsRequestSchema,
  SendCommandRequestSchema,
  QuerySeriesRequestSchema,
  GetConfusionMatrixRequestSchema,
  GetImageFramesRequestSchema,
  UpdateSessionRequestSchema,
  DeleteSessionRequestSchema,
  AcknowledgeAlertRequestSchema,
  SetAlertRulesRequestSchema,
  type AcknowledgeAlertResponse,
  type SetAlertRulesResponse,
  type QuerySeriesResponse,
  type GetConfusionMatrixResponse,
  type GetImageFramesResponse,
  type UpdateSessionResponse,
  type DeleteSessionResponse,
  SessionInfoSchema,
  TelemetryService,
  WatchSessionRequestSchema,
  toPackageDefinition,
  type HealthCheckResponse,
  type ListSessionsResponse,
  type MetricsRequest,
  type MetricsResponse,
  type SendCommandResponse,
  type SessionInfo,
  type SessionResponse,
  type SessionSummary,
  type WatchSessionResponse,
} from '@trainwatch/proto';
import { freePort, waitFor } from '@trainwatch/testing';
import type { LoggerService } from '@nestjs/common';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode } from 'jpeg-js';
import { loadServerConfig, type ServerSettings } from '../src/config/server-config';
import { startServer, type RunningServer } from '../src/server';

/** A server started in this process on free ports. */
export interface TestServer extends RunningServer {
  settings: ServerSettings;
}

/**
 * Starts the real app (both listeners) on free ports with `env` overrides.
 * Unless `env` names DATA_DIR (or another store), the server keeps its runs
 * in a temporary directory of its own, removed at shutdown: tests never
 * write ./data and never see each other's runs.
 */
export async function startTestServer(
  env: Record<string, string> = {},
  { logger = false }: { logger?: LoggerService | false } = {},
): Promise<TestServer> {
  const ownDataDir =
    env['DATA_DIR'] === undefined ? mkdtempSync(join(tmpdir(), 'trainwatch-test-')) : undefined;
  const settings = loadServerConfig({
    HOST: '127.0.0.1',
    GRPC_PORT: String(await freePort()),
    HTTP_PORT: String(await freePort()),
    WEB_DIST_DIR: '',
    SHUTDOWN_TIMEOUT_MS: '2000',
    ...(ownDataDir === undefined ? {} : { DATA_DIR: ownDataDir }),
    ...env,
  });
  const server = await startServer(settings, { logger }).catch((error: unknown) => {
    if (ownDataDir !== undefined) rmSync(ownDataDir, { recursive: true, force: true });
    throw error;
  });
  const shutdown = async (): Promise<void> => {
    await server.shutdown();
    if (ownDataDir !== undefined) rmSync(ownDataDir, { recursive: true, force: true });
  };
  return { ...server, shutdown, settings };
}

const loaded = grpc.loadPackageDefinition(
  toPackageDefinition(TelemetryService, DashboardService, Health),
) as unknown as {
  telemetry: { v1: Record<string, grpc.ServiceClientConstructor> };
  grpc: { health: { v1: Record<string, grpc.ServiceClientConstructor> } };
};

// Generated-by-definition clients have no static method types; tests call them by name.
type DynamicClient = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

/** Clients are big enough for the largest test messages; the server's limit is what is under test. */
const clientOptions: grpc.ChannelOptions = {
  'grpc.max_send_message_length': 64 * 1024 * 1024,
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
};

/** Client options that send `authorization: Bearer <bearer>` on every call (AUTH=required). */
function withBearer(options: grpc.ClientOptions, bearer: string | undefined): grpc.ClientOptions {
  if (bearer === undefined) return options;
  const interceptor: grpc.Interceptor = (callOptions, nextCall) =>
    new grpc.InterceptingCall(nextCall(callOptions), {
      start(metadata, listener, next) {
        metadata.set('authorization', `Bearer ${bearer}`);
        next(metadata, listener);
      },
    });
  return { ...options, interceptors: [interceptor] };
}

/** `bearer`: an API key sent as `authorization: Bearer` on every call. */
export function telemetryClient(address: string, bearer?: string): DynamicClient {
  return new loaded.telemetry.v1.TelemetryService(
    address,
    grpc.credentials.createInsecure(),
    withBearer(clientOptions, bearer),
  ) as DynamicClient;
}

/**
 * Waits until `/healthz` answers 503 and returns its reason (the store's failures say
 * `store: ...`). `check` runs before each look, e.g. to fail at once if the server process ended.
 */
export async function unhealthyReason(
  httpUrl: string,
  what: string,
  { timeoutMs = 15_000, check }: { timeoutMs?: number; check?: () => void } = {},
): Promise<string | undefined> {
  const body = await waitFor(
    async () => {
      check?.();
      const response = await fetch(`${httpUrl}/healthz`);
      return response.status === 503 ? ((await response.json()) as { reason?: string }) : false;
    },
    { timeoutMs, intervalMs: 50, what: `/healthz 503 ${what}` },
  );
  return body.reason;
}

export function healthCheck(address: string, service = ''): Promise<HealthCheckResponse> {
  const client = new loaded.grpc.health.v1.Health(
    address,
    grpc.credentials.createInsecure(),
  ) as DynamicClient;
  return new Promise((resolve, reject) => {
    client['Check'](
      create(HealthCheckRequestSchema, { service }),
      (error: Error | null, response: HealthCheckResponse) => {
        client.close();
        if (error) reject(error);
        else resolve(response);
      },
    );
  });
}

function unary<T>(client: DynamicClient, method: string, request: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    client[method](request, (error: grpc.ServiceError | null, response: T) =>
      error ? reject(error) : resolve(response),
    );
  });
}

/** A valid registration; fields named in `init` (even as undefined) replace the defaults. */
export function sessionInfo(init: MessageInitShape<typeof SessionInfoSchema> = {}): SessionInfo {
  const info = create(SessionInfoSchema, {
    clientName: 'spec',
    clientVersion: '1.0.0',
    config: {
      totalEpochs: 3,
      batchesPerEpoch: 100,
      batchSize: 32,
      modelName: 'm',
      datasetName: 'd',
      classNames: ['a', 'b'],
    },
  });
  const overrides = create(SessionInfoSchema, init);
  for (const key of Object.keys(init) as (keyof SessionInfo)[])
    Object.assign(info, { [key]: overrides[key] });
  return info;
}

export function register(
  client: DynamicClient,
  init: MessageInitShape<typeof SessionInfoSchema> = {},
): Promise<SessionResponse> {
  return unary(client, 'RegisterTrainingSession', sessionInfo(init));
}

/** A real JPEG of the given size (encoded by jpeg-js). */
export function makeJpeg(width: number, height: number): Uint8Array {
  const data = Buffer.alloc(width * height * 4, 0x80);
  return new Uint8Array(encode({ data, width, height }, 50).data);
}

/** Error code and message from either transport (Connect codes equal gRPC codes). */
export interface CallError {
  code: number;
  message: string;
}

function callError(error: unknown): CallError {
  if (error instanceof ConnectError) return { code: error.code, message: error.rawMessage };
  const status = error as grpc.ServiceError;
  return { code: status.code, message: status.details };
}

/** One trainer stream, recording everything the server sends. */
export class TrainerStreamClient {
  readonly responses: MetricsResponse[] = [];
  status: grpc.StatusObject | undefined;
  readonly call: grpc.ClientDuplexStream<MetricsRequest, MetricsResponse>;

  /** `resumeToken`, when given, goes out as the `trainwatch-resume-token` call metadata. */
  constructor(
    client: DynamicClient,
    readonly sessionId: string,
    resumeToken?: string,
  ) {
    const metadata = new grpc.Metadata();
    if (resumeToken !== undefined) metadata.set('trainwatch-resume-token', resumeToken);
    this.call = client['StreamMetrics'](metadata) as grpc.ClientDuplexStream<
      MetricsRequest,
      MetricsResponse
    >;
    this.call.on('data', (response: MetricsResponse) => this.responses.push(response));
    this.call.on('status', (status: grpc.StatusObject) => (this.status = status));
    this.call.on('error', () => undefined);
  }

  send(
    sequence: bigint,
    payload: MessageInitShape<typeof MetricsRequestSchema>['payload'],
    sessionId = this.sessionId,
  ): boolean {
    return this.call.write(
      create(MetricsRequestSchema, {
        sessionId,
        sequence,
        timestampMs: BigInt(Date.now()),
        payload,
      }),
    );
  }

  batch(
    sequence: bigint,
    epoch: number,
    batchIdx: number,
    init: Record<string, unknown> = {},
  ): boolean {
    return this.send(sequence, {
      case: 'batchData',
      value: { epoch, batchIdx, batchSize: 32, batchLoss: 1 / (1 + batchIdx), ...init },
    });
  }

  acks() {
    return this.responses.flatMap((response) =>
      response.payload.case === 'ack' ? [response.payload.value] : [],
    );
  }

  errors() {
    return this.responses.flatMap((response) =>
      response.payload.case === 'error' ? [response.payload.value] : [],
    );
  }

  commands() {
    return this.responses.flatMap((response) =>
      response.payload.case === 'command' ? [response.payload.value] : [],
    );
  }

  waitForAck(sequence: bigint, timeoutMs = 5000) {
    return waitFor(() => this.acks().find((ack) => ack.sequence === sequence), {
      timeoutMs,
      what: `ack ${sequence}`,
    });
  }

  waitForStatus(timeoutMs = 5000) {
    return waitFor(() => this.status, { timeoutMs, what: 'stream status' });
  }

  end(): void {
    this.call.end();
  }
}

/** A live watch, recording events until it ends. */
export interface WatchHandle {
  readonly events: WatchSessionResponse[];
  /** Set when the watch ended with an error status. */
  error: CallError | undefined;
  ended: boolean;
  cancel(): void;
}

/** DashboardService as the contract suite sees it, over either binding. */
export interface DashboardApi {
  readonly name: string;
  listSessions(
    init?: MessageInitShape<typeof ListSessionsRequestSchema>,
  ): Promise<ListSessionsResponse>;
  sendCommand(
    init: MessageInitShape<typeof SendCommandRequestSchema>,
  ): Promise<SendCommandResponse>;
  querySeries(
    init: MessageInitShape<typeof QuerySeriesRequestSchema>,
  ): Promise<QuerySeriesResponse>;
  getImageFrames(
    init: MessageInitShape<typeof GetImageFramesRequestSchema>,
  ): Promise<GetImageFramesResponse>;
  updateSession(
    init: MessageInitShape<typeof UpdateSessionRequestSchema>,
  ): Promise<UpdateSessionResponse>;
  deleteSession(
    init: MessageInitShape<typeof DeleteSessionRequestSchema>,
  ): Promise<DeleteSessionResponse>;
  getConfusionMatrix(
    init: MessageInitShape<typeof GetConfusionMatrixRequestSchema>,
  ): Promise<GetConfusionMatrixResponse>;
  acknowledgeAlert(
    init: MessageInitShape<typeof AcknowledgeAlertRequestSchema>,
  ): Promise<AcknowledgeAlertResponse>;
  setAlertRules(
    init: MessageInitShape<typeof SetAlertRulesRequestSchema>,
  ): Promise<SetAlertRulesResponse>;
  /** WatchSession; with `resumeCursor`, resuming after the event of that cursor. */
  watch(sessionId: string, resumeCursor?: bigint): WatchHandle;
  close(): void;
}

/** Runs `call` and returns its error normalized, or throws if it succeeded. */
export async function expectCallError(call: Promise<unknown>): Promise<CallError> {
  try {
    await call;
  } catch (error) {
    return callError(error);
  }
  throw new Error('expected the call to fail');
}

/**
 * `defaultLimits`: the client keeps grpc-js' own 4 MiB receive limit, as a
 * dashboard written without special options would.
 */
export function grpcDashboard(
  address: string,
  { defaultLimits = false, bearer }: { defaultLimits?: boolean; bearer?: string } = {},
): DashboardApi {
  const client = new loaded.telemetry.v1.DashboardService(
    address,
    grpc.credentials.createInsecure(),
    withBearer(defaultLimits ? {} : clientOptions, bearer),
  ) as DynamicClient;
  return {
    name: 'native gRPC',
    listSessions: (init = {}) =>
      unary(client, 'ListSessions', create(ListSessionsRequestSchema, init)),
    sendCommand: (init) => unary(client, 'SendCommand', create(SendCommandRequestSchema, init)),
    querySeries: (init) => unary(client, 'QuerySeries', create(QuerySeriesRequestSchema, init)),
    getImageFrames: (init) =>
      unary(client, 'GetImageFrames', create(GetImageFramesRequestSchema, init)),
    updateSession: (init) =>
      unary(client, 'UpdateSession', create(UpdateSessionRequestSchema, init)),
    deleteSession: (init) =>
      unary(client, 'DeleteSession', create(DeleteSessionRequestSchema, init)),
    getConfusionMatrix: (init) =>
      unary(client, 'GetConfusionMatrix', create(GetConfusionMatrixRequestSchema, init)),
    acknowledgeAlert: (init) =>
      unary(client, 'AcknowledgeAlert', create(AcknowledgeAlertRequestSchema, init)),
    setAlertRules: (init) =>
      unary(client, 'SetAlertRules', create(SetAlertRulesRequestSchema, init)),
    watch(sessionId, resumeCursor = 0n) {
      const call = client['WatchSession'](
        create(WatchSessionRequestSchema, { sessionId, resumeCursor }),
      ) as grpc.ClientReadableStream<WatchSessionResponse>;
      const handle: WatchHandle = {
        events: [],
        error: undefined,
        ended: false,
        cancel: () => call.cancel(),
      };
      call.on('data', (event: WatchSessionResponse) => handle.events.push(event));
      call.on('error', (error) => (handle.error = callError(error)));
      call.on('status', () => (handle.ended = true));
      return handle;
    },
    close: () => client.close(),
  };
}

/**
 * `readMaxBytes`: the most one message may take. connect-web (the browser
 * transport) has no such option, so a limited client uses connect-node's
 * gRPC-Web transport, which enforces it (its own default is 4 GiB).
 */
export function grpcWebDashboard(
  httpUrl: string,
  {
    readMaxBytes,
    headers,
  }: {
    readMaxBytes?: number;
    /** Sent on every call (e.g. a `cookie` or `authorization`). */
    headers?: Record<string, string>;
  } = {},
): DashboardApi {
  const transport =
    readMaxBytes === undefined && headers === undefined
      ? createGrpcWebTransport({ baseUrl: httpUrl })
      : createNodeGrpcWebTransport({
          baseUrl: httpUrl,
          httpVersion: '1.1',
          readMaxBytes,
          interceptors: [
            (next) => (request) => {
              for (const [name, value] of Object.entries(headers ?? {})) {
                request.header.set(name, value);
              }
              return next(request);
            },
          ],
        });
  const client = createClient(DashboardService, transport);
  return {
    name: 'gRPC-Web',
    listSessions: (init = {}) => client.listSessions(init),
    sendCommand: (init) => client.sendCommand(init),
    querySeries: (init) => client.querySeries(init),
    getImageFrames: (init) => client.getImageFrames(init),
    updateSession: (init) => client.updateSession(init),
    deleteSession: (init) => client.deleteSession(init),
    getConfusionMatrix: (init) => client.getConfusionMatrix(init),
    acknowledgeAlert: (init) => client.acknowledgeAlert(init),
    setAlertRules: (init) => client.setAlertRules(init),
    watch(sessionId, resumeCursor = 0n) {
      const abort = new AbortController();
      const handle: WatchHandle = {
        events: [],
        error: undefined,
        ended: false,
        cancel: () => abort.abort(),
      };
      void (async () => {
        try {
          for await (const event of client.watchSession(
            { sessionId, resumeCursor },
            { signal: abort.signal },
          ))
            handle.events.push(event);
        } catch (error) {
          handle.error = callError(error);
        } finally {
          handle.ended = true;
        }
      })();
      return handle;
    },
    close: () => undefined,
  };
}

/** Scalar (cursor-advancing) events of a watch, after the snapshot. */
export function scalarEvents(handle: WatchHandle): WatchSessionResponse[] {
  return handle.events.filter(
    (event) =>
      event.event.case !== 'snapshot' &&
      event.event.case !== 'images' &&
      event.event.case !== 'keepalive',
  );
}

/**
 * A second session that must stay unaffected by whatever a test does to
 * another one: each `stillAcked()` sends one more batch and expects it
 * acknowledged as new, with no error on the stream.
 */
export class HealthySession {
  private stream: TrainerStreamClient | undefined;
  private sequence = 0n;

  constructor(
    private readonly telemetry: DynamicClient,
    readonly sessionId = 'healthy',
  ) {}

  async start(): Promise<void> {
    await register(this.telemetry, { sessionId: this.sessionId });
    this.stream = new TrainerStreamClient(this.telemetry, this.sessionId);
  }

  async stillAcked(): Promise<void> {
    if (this.stream === undefined) throw new Error('HealthySession.start() first');
    this.sequence += 1n;
    this.stream.batch(this.sequence, 0, Number(this.sequence));
    const ack = await this.stream.waitForAck(this.sequence);
    expect([ack.success, ack.duplicate]).toEqual([true, false]);
    expect(this.stream.errors()).toEqual([]);
  }

  end(): void {
    this.stream?.end();
  }
}

/** The session's summary as the first ListSessions page shows it. */
export async function summaryOf(
  dashboard: DashboardApi,
  sessionId: string,
): Promise<SessionSummary | undefined> {
  return (await dashboard.listSessions()).sessions.find(
    (session) => session.sessionId === sessionId,
  );
}

/**
 * A Connect client of any service over either binding, sending `headers` on
 * every call: native gRPC (HTTP/2 to the gRPC port) or gRPC-Web (the HTTP port).
 */
export function serviceClient<T extends DescService>(
  service: T,
  binding: 'native gRPC' | 'gRPC-Web',
  server: { grpcAddress: string; httpUrl: string },
  headers: Record<string, string> = {},
): Client<T> {
  const interceptors: Interceptor[] = [
    (next) => (request) => {
      for (const [name, value] of Object.entries(headers)) request.header.set(name, value);
      return next(request);
    },
  ];
  return createClient(
    service,
    binding === 'native gRPC'
      ? createNodeGrpcTransport({ baseUrl: `http://${server.grpcAddress}`, interceptors })
      : createNodeGrpcWebTransport({ baseUrl: server.httpUrl, httpVersion: '1.1', interceptors }),
  );
}

/** What a dashboard reads of every run: the list, every series at full resolution, every stored frame. */
export async function readEverything(dashboard: DashboardApi) {
  const list = await dashboard.listSessions({});
  const runs = [];
  for (const summary of list.sessions) {
    const series = await dashboard.querySeries({ sessionId: summary.sessionId, maxPoints: 10_000 });
    const steps = (await dashboard.getImageFrames({ sessionId: summary.sessionId })).frameSteps;
    const frames = [];
    for (const step of steps) {
      const [frame] = (
        await dashboard.getImageFrames({
          sessionId: summary.sessionId,
          fromStep: step,
          toStep: step,
          maxFrames: 1,
        })
      ).frames;
      frames.push(frame);
    }
    runs.push({ summary, series: series.series, frames });
  }
  return runs;
}

/** Runs `npm run admin -- <args>` in process with `env` as its settings: its exit code and output lines. */
export async function runAdminCommand(
  env: Record<string, string>,
  args: string[],
  password = '',
): Promise<{ code: number; out: string[] }> {
  const out: string[] = [];
  const code = await runAdmin(args, {
    env,
    readPassword: () => Promise.resolve(password),
    out: (line) => out.push(line),
  });
  return { code, out };
}

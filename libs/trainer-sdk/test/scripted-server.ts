import * as grpc from '@grpc/grpc-js';
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import {
  MetricsResponseSchema,
  SessionResponseSchema,
  TelemetryService,
  toGrpcServiceDefinition,
  type MetricsRequest,
  type MetricsResponse,
  type SessionInfo,
  type SessionResponse,
} from '@trainwatch/proto';

/** One StreamMetrics call as the scripted server saw it. */
export interface ScriptedStream {
  /** The `trainwatch-resume-token` metadata the trainer presented ('' when none). */
  token: string;
  requests: MetricsRequest[];
  send(payload: MessageInitShape<typeof MetricsResponseSchema>['payload']): void;
  /** Ends the call with a gRPC status, as the real server does when it refuses or replaces a stream. */
  end(code: grpc.status, details: string): void;
}

/** How the scripted server answers; each hook may be replaced by a test. */
export interface Script {
  register(info: SessionInfo, attempt: number): SessionResponse | grpc.ServiceError;
  /** Called once per stream; the default acknowledges every sequenced message. */
  stream(stream: ScriptedStream): void;
}

export function refusal(code: grpc.status, details: string): grpc.ServiceError {
  return Object.assign(new Error(details), { code, details, metadata: new grpc.Metadata() });
}

/**
 * A TelemetryService whose answers a test scripts, on a real socket: for
 * behaviour the real server produces only in states that are hard to reach
 * on purpose (another trainer holding the session, a stream replaced).
 */
export class ScriptedServer {
  readonly registrations: SessionInfo[] = [];
  readonly streams: ScriptedStream[] = [];
  script: Script = {
    register: (info) =>
      create(SessionResponseSchema, {
        success: true,
        sessionId: info.sessionId,
        resumeToken: 'token-1',
        serverConfig: { heartbeatIntervalMs: 0, bufferSize: 100, maxBatchSize: 16 },
      }),
    stream: (stream) => {
      void stream; // acknowledged by the default handler below
    },
  };

  private constructor(
    private readonly server: grpc.Server,
    readonly address: string,
  ) {}

  static async start(): Promise<ScriptedServer> {
    const server = new grpc.Server();
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) =>
        error ? reject(error) : resolve(bound),
      ),
    );
    const scripted = new ScriptedServer(server, `127.0.0.1:${port}`);
    server.addService(toGrpcServiceDefinition(TelemetryService), {
      RegisterTrainingSession: (
        call: grpc.ServerUnaryCall<SessionInfo, SessionResponse>,
        callback: grpc.sendUnaryData<SessionResponse>,
      ) => {
        scripted.registrations.push(call.request);
        const answer = scripted.script.register(call.request, scripted.registrations.length);
        if (answer instanceof Error) callback(answer);
        else callback(null, answer);
      },
      StreamMetrics: (call: grpc.ServerDuplexStream<MetricsRequest, MetricsResponse>) =>
        scripted.attach(call),
    });
    return scripted;
  }

  private attach(call: grpc.ServerDuplexStream<MetricsRequest, MetricsResponse>): void {
    const token = call.metadata.get('trainwatch-resume-token')[0];
    let ended = false;
    const stream: ScriptedStream = {
      token: typeof token === 'string' ? token : '',
      requests: [],
      send: (payload) => {
        if (!ended) call.write(create(MetricsResponseSchema, { payload }));
      },
      end: (code, details) => {
        if (ended) return;
        ended = true;
        call.emit('error', { code, details });
      },
    };
    this.streams.push(stream);
    call.on('data', (request: MetricsRequest) => {
      stream.requests.push(request);
      if (request.sequence > 0n) {
        stream.send({ case: 'ack', value: { sequence: request.sequence, success: true } });
      }
    });
    call.on('end', () => {
      if (!ended) {
        ended = true;
        call.end();
      }
    });
    call.on('error', () => undefined);
    this.script.stream(stream);
  }

  async close(): Promise<void> {
    this.server.forceShutdown();
  }
}

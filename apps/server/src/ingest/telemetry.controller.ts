import { Controller, Inject } from '@nestjs/common';
import { GrpcMethod, GrpcStreamCall } from '@nestjs/microservices';
import type { Metadata, ServerDuplexStream, ServerUnaryCall } from '@grpc/grpc-js';
import type {
  MetricsRequest,
  MetricsResponse,
  SessionInfo,
  SessionResponse,
} from '@trainwatch/proto';
import { CredentialWatch } from '../auth/credential-watch';
import { identityOf, keyIdOf } from '../auth/grpc-auth';
import { KeyLimits } from '../auth/key-limits';
import { wireSize } from '../common/instrumented-definition';
import { SERVER_SETTINGS } from '../config/config.module';
import type { ServerSettings } from '../config/server-config';
import { CommitBacklog } from '../events/commit-backlog';
import { IngestService } from './ingest.service';
import { TrainerStream } from './trainer-stream';
import { UnboundStreams } from './unbound-streams';

/** Binds TelemetryService (native gRPC) to the ingest service. */
@Controller()
export class TelemetryController {
  constructor(
    private readonly ingest: IngestService,
    private readonly unbound: UnboundStreams,
    @Inject(SERVER_SETTINGS) private readonly settings: ServerSettings,
    private readonly backlog: CommitBacklog,
    private readonly limits: KeyLimits,
    private readonly credentials: CredentialWatch,
  ) {}

  @GrpcMethod('TelemetryService', 'RegisterTrainingSession')
  register(
    info: SessionInfo,
    _metadata: Metadata,
    call: ServerUnaryCall<SessionInfo, SessionResponse>,
  ): SessionResponse | Promise<SessionResponse> {
    return this.ingest.registerRestoring(info, call.getPeer(), keyIdOf(call));
  }

  @GrpcStreamCall('TelemetryService', 'StreamMetrics')
  stream(call: ServerDuplexStream<MetricsRequest, MetricsResponse>): void {
    const keyId = keyIdOf(call);
    const stream = new TrainerStream(
      call,
      this.ingest,
      this.settings.trainerBufferSize,
      this.backlog,
      // Per-key message and byte limits (AUTH=required only: with auth off there is no key).
      keyId === undefined
        ? undefined
        : (request) => this.limits.admitMessage(keyId, wireSize(request)),
    );
    if (!this.unbound.admit(call, (error) => stream.close(error))) return;
    stream.start();
    // A key revoked while the stream is open ends it (UNAUTHENTICATED) within AUTH_RECHECK_MS.
    this.credentials.track(identityOf(call), stream);
  }
}

import { Controller, Inject } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import type { Metadata, ServerUnaryCall, ServerWritableStream } from '@grpc/grpc-js';
import { CredentialWatch } from '../auth/credential-watch';
import { identityOf } from '../auth/grpc-auth';
import { SERVER_SETTINGS } from '../config/config.module';
import type { ServerSettings } from '../config/server-config';
import {
  type AcknowledgeAlertRequest,
  type AcknowledgeAlertResponse,
  type DeleteSessionRequest,
  type DeleteSessionResponse,
  type GetConfusionMatrixRequest,
  type GetConfusionMatrixResponse,
  type GetImageFramesRequest,
  type GetImageFramesResponse,
  type QuerySeriesRequest,
  type QuerySeriesResponse,
  type UpdateSessionRequest,
  type UpdateSessionResponse,
  type ListSessionsRequest,
  type ListSessionsResponse,
  type SendCommandRequest,
  type SendCommandResponse,
  type SetAlertRulesRequest,
  type SetAlertRulesResponse,
  type WatchSessionRequest,
  type WatchSessionResponse,
} from '@trainwatch/proto';
import type { Observable } from 'rxjs';
import { DashboardService } from './dashboard.service';
import { pumpToGrpc, trackWatcher } from './watch-streams';

/** Binds DashboardService to native gRPC; one line per method. */
@Controller()
export class DashboardController {
  constructor(
    private readonly dashboard: DashboardService,
    private readonly credentials: CredentialWatch,
    @Inject(SERVER_SETTINGS) private readonly settings: ServerSettings,
  ) {}

  @GrpcMethod('DashboardService', 'ListSessions')
  listSessions(request: ListSessionsRequest): Promise<ListSessionsResponse> {
    return this.dashboard.listSessions(request);
  }

  @GrpcMethod('DashboardService', 'WatchSession')
  watchSession(
    request: WatchSessionRequest,
    _metadata: Metadata,
    call: ServerWritableStream<WatchSessionRequest, WatchSessionResponse>,
  ): Observable<never> {
    return pumpToGrpc(
      trackWatcher(this.dashboard.watchSession(request), identityOf(call), this.credentials),
      call,
      this.settings.maxMessageBytes,
    );
  }

  @GrpcMethod('DashboardService', 'SendCommand')
  sendCommand(
    request: SendCommandRequest,
    _metadata: Metadata,
    call: ServerUnaryCall<SendCommandRequest, SendCommandResponse>,
  ): Promise<SendCommandResponse> {
    return this.dashboard.sendCommand(request, identityOf(call));
  }

  @GrpcMethod('DashboardService', 'QuerySeries')
  querySeries(request: QuerySeriesRequest): Promise<QuerySeriesResponse> {
    return this.dashboard.querySeries(request);
  }

  @GrpcMethod('DashboardService', 'GetImageFrames')
  getImageFrames(request: GetImageFramesRequest): Promise<GetImageFramesResponse> {
    return this.dashboard.getImageFrames(request);
  }

  @GrpcMethod('DashboardService', 'UpdateSession')
  updateSession(request: UpdateSessionRequest): Promise<UpdateSessionResponse> {
    return this.dashboard.updateSession(request);
  }

  @GrpcMethod('DashboardService', 'GetConfusionMatrix')
  getConfusionMatrix(request: GetConfusionMatrixRequest): Promise<GetConfusionMatrixResponse> {
    return this.dashboard.getConfusionMatrix(request);
  }

  @GrpcMethod('DashboardService', 'DeleteSession')
  deleteSession(request: DeleteSessionRequest): Promise<DeleteSessionResponse> {
    return this.dashboard.deleteSession(request);
  }

  @GrpcMethod('DashboardService', 'AcknowledgeAlert')
  acknowledgeAlert(
    request: AcknowledgeAlertRequest,
    _metadata: Metadata,
    call: ServerUnaryCall<AcknowledgeAlertRequest, AcknowledgeAlertResponse>,
  ): Promise<AcknowledgeAlertResponse> {
    return this.dashboard.acknowledgeAlert(request, identityOf(call));
  }

  @GrpcMethod('DashboardService', 'SetAlertRules')
  setAlertRules(
    request: SetAlertRulesRequest,
    _metadata: Metadata,
    call: ServerUnaryCall<SetAlertRulesRequest, SetAlertRulesResponse>,
  ): Promise<SetAlertRulesResponse> {
    return this.dashboard.setAlertRules(request, identityOf(call));
  }
}

import { ANONYMOUS, type Identity } from '../auth/identity';
import { create } from '@bufbuild/protobuf';
import { Injectable } from '@nestjs/common';
import {
  AcknowledgeAlertResponseSchema,
  SetAlertRulesResponseSchema,
  type SetAlertRulesRequest,
  type SetAlertRulesResponse,
  type AcknowledgeAlertRequest,
  type AcknowledgeAlertResponse,
  type DeleteSessionRequest,
  type DeleteSessionResponse,
  type GetConfusionMatrixRequest,
  type GetConfusionMatrixResponse,
  type GetImageFramesRequest,
  type GetImageFramesResponse,
  type ListSessionsRequest,
  type ListSessionsResponse,
  type QuerySeriesRequest,
  type QuerySeriesResponse,
  type SendCommandRequest,
  type SendCommandResponse,
  type UpdateSessionRequest,
  type UpdateSessionResponse,
  type WatchSessionRequest,
} from '@trainwatch/proto';
import { CommandsService } from '../commands/commands.service';
import { FanOutService } from '../fan-out/fan-out.service';
import type { Watcher } from '../fan-out/watcher';
import { ReplicasService } from '../replicas/replicas.service';
import { RunsService } from '../runs/runs.service';
import { WatchdogService } from '../watchdog/watchdog.service';

/**
 * DashboardService, transport-free. Native gRPC (DashboardController) and
 * gRPC-Web (the Connect router) both call exactly these methods.
 */
@Injectable()
export class DashboardService {
  constructor(
    private readonly runs: RunsService,
    private readonly fanOut: FanOutService,
    private readonly commands: CommandsService,
    private readonly watchdog: WatchdogService,
    private readonly replicas: ReplicasService,
  ) {
    // With several replicas, edits that make a watch event run on the session's owner.
    replicas.serveEdits({
      update: (request) => this.runs.update(request),
      acknowledgeAlert: (request) => this.acknowledgeHere(request),
      setAlertRules: (request, by) => this.setAlertRulesHere(request, by),
    });
  }

  /** One page of live and stored runs; INVALID_ARGUMENT for a bad page_size, page_token, order or text. */
  listSessions(request: ListSessionsRequest): Promise<ListSessionsResponse> {
    return this.runs.list(request);
  }

  /**
   * A watcher whose first event is the snapshot (or, resuming, the events
   * after resume_cursor); a stored run is restored first and its watch stays
   * open (keepalives) in case its trainer comes back. NOT_FOUND for an unknown session.
   */
  async watchSession(request: WatchSessionRequest): Promise<Watcher> {
    // Several replicas: every watch follows the session's shared log.
    if (this.replicas.enabled) return this.replicas.watch(request);
    const session = await this.runs.session(request.sessionId);
    return this.fanOut.watch(session, request.resumeCursor);
  }

  /** `identity`: who the transport's auth check found; a signed-in user is named in the audit. */
  sendCommand(
    request: SendCommandRequest,
    identity: Identity = ANONYMOUS,
  ): Promise<SendCommandResponse> {
    const issuer = identity.kind === 'user' ? identity.userName : '';
    // Several replicas: the command runs where the trainer's stream is.
    if (this.replicas.enabled) return this.replicas.sendCommand(request, issuer);
    return this.commands.send(request, issuer);
  }

  querySeries(request: QuerySeriesRequest): Promise<QuerySeriesResponse> {
    return this.runs.querySeries(request);
  }

  getImageFrames(request: GetImageFramesRequest): Promise<GetImageFramesResponse> {
    return this.runs.imageFrames(request);
  }

  updateSession(request: UpdateSessionRequest): Promise<UpdateSessionResponse> {
    if (this.replicas.enabled) return this.replicas.edit('update', request, '');
    return this.runs.update(request);
  }

  deleteSession(request: DeleteSessionRequest): Promise<DeleteSessionResponse> {
    return this.runs.delete(request);
  }

  getConfusionMatrix(request: GetConfusionMatrixRequest): Promise<GetConfusionMatrixResponse> {
    return this.runs.confusionMatrix(request);
  }

  /**
   * NOT_FOUND for a session or alert the server does not hold (a stored run is
   * restored first). `identity`: a signed-in user is named as who acknowledged,
   * whatever the request says.
   */
  async acknowledgeAlert(
    request: AcknowledgeAlertRequest,
    identity: Identity = ANONYMOUS,
  ): Promise<AcknowledgeAlertResponse> {
    const named =
      identity.kind === 'user' ? { ...request, acknowledgedBy: identity.userName } : request;
    if (this.replicas.enabled) return this.replicas.edit('acknowledgeAlert', named, '');
    return this.acknowledgeHere(named);
  }

  private async acknowledgeHere(
    request: AcknowledgeAlertRequest,
  ): Promise<AcknowledgeAlertResponse> {
    await this.runs.session(request.sessionId);
    return create(AcknowledgeAlertResponseSchema, { alert: this.watchdog.acknowledge(request) });
  }

  /** Operators change a session's rules and webhook URLs; a signed-in user is named as who did. */
  async setAlertRules(
    request: SetAlertRulesRequest,
    identity: Identity = ANONYMOUS,
  ): Promise<SetAlertRulesResponse> {
    const by = identity.kind === 'user' ? identity.userName : '';
    if (this.replicas.enabled) return this.replicas.edit('setAlertRules', request, by);
    return this.setAlertRulesHere(request, by);
  }

  private async setAlertRulesHere(
    request: SetAlertRulesRequest,
    by: string,
  ): Promise<SetAlertRulesResponse> {
    const session = await this.runs.session(request.sessionId);
    return create(SetAlertRulesResponseSchema, {
      settings: this.watchdog.setRules(session, request, by),
    });
  }
}

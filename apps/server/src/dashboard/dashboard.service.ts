import { Injectable } from '@nestjs/common';
import {
  type ListSessionsRequest,
  type ListSessionsResponse,
  type SendCommandRequest,
  type SendCommandResponse,
  type WatchSessionRequest,
} from '@trainwatch/proto';
import { CommandsService } from '../commands/commands.service';
import { FanOutService } from '../fan-out/fan-out.service';
import type { Watcher } from '../fan-out/watcher';
import { SessionsService } from '../sessions/sessions.service';
import { listPage } from './session-pages';

/**
 * DashboardService, transport-free. Native gRPC (DashboardController) and
 * gRPC-Web (the Connect router) both call exactly these methods.
 */
@Injectable()
export class DashboardService {
  constructor(
    private readonly sessions: SessionsService,
    private readonly fanOut: FanOutService,
    private readonly commands: CommandsService,
  ) {}

  /** One page, newest first; INVALID_ARGUMENT for a bad page_size or page_token. */
  listSessions(request: ListSessionsRequest): ListSessionsResponse {
    return listPage(this.sessions.list(), request);
  }

  /** A watcher whose first event is the snapshot; NOT_FOUND for an unknown session. */
  watchSession(request: WatchSessionRequest): Watcher {
    return this.fanOut.watch(this.sessions.get(request.sessionId), request.resumeCursor);
  }

  sendCommand(request: SendCommandRequest): Promise<SendCommandResponse> {
    return this.commands.send(request);
  }
}

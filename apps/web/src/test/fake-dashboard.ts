import { create } from '@bufbuild/protobuf';
import {
  Code,
  ConnectError,
  createRouterTransport,
  type ServiceImpl,
  type Transport,
} from '@connectrpc/connect';
import {
  AdminService,
  AuthService,
  DashboardService,
  DeleteSessionResponseSchema,
  UpdateSessionResponseSchema,
  GetConfusionMatrixResponseSchema,
  GetImageFramesResponseSchema,
  ListSessionsResponseSchema,
  QuerySeriesResponseSchema,
  type QuerySeriesRequest,
  type QuerySeriesResponse,
  type GetConfusionMatrixRequest,
  type GetConfusionMatrixResponse,
  type GetImageFramesRequest,
  type GetImageFramesResponse,
  type SendCommandRequest,
  type SendCommandResponse,
  type SessionSummary,
  type WatchSessionResponse,
} from '@trainwatch/proto';
import { Channel } from './channel';

/**
 * An in-process DashboardService behind Connect's router transport. Each
 * WatchSession call takes the next scripted stream; tests push events into
 * it and end or fail it when they like.
 */
export class FakeDashboard {
  readonly streams: Channel<WatchSessionResponse>[] = [];
  readonly watchRequests: string[] = [];
  /** resume_cursor of every WatchSession call, in order (0 asks for a snapshot). */
  readonly resumeCursors: bigint[] = [];
  /** Streams the client has cancelled (unmount, navigation). */
  cancelled = 0;
  sessions: SessionSummary[] = [];
  listError: ConnectError | undefined;
  listCalls = 0;
  /** page_size and page_token of every ListSessions call, in order. */
  listRequests: { pageSize: number; pageToken: string }[] = [];
  /** text and tags of every ListSessions call, in order. */
  listQueries: { text: string; tags: string[]; sessionIds: string[] }[] = [];
  /** GetConfusionMatrix and GetImageFrames answers; both record their requests. */
  onGetConfusionMatrix: (request: GetConfusionMatrixRequest) => GetConfusionMatrixResponse = () =>
    create(GetConfusionMatrixResponseSchema);
  readonly confusionRequests: GetConfusionMatrixRequest[] = [];
  onGetImageFrames: (request: GetImageFramesRequest) => GetImageFramesResponse = () =>
    create(GetImageFramesResponseSchema);
  readonly imageFrameRequests: GetImageFramesRequest[] = [];
  /** QuerySeries answers by session id (empty when not scripted). */
  onQuerySeries: (request: QuerySeriesRequest) => QuerySeriesResponse = () =>
    create(QuerySeriesResponseSchema);
  onSendCommand: (request: SendCommandRequest) => Promise<SendCommandResponse> = () =>
    Promise.reject(new ConnectError('not scripted', Code.Unimplemented));
  readonly transport: Transport;

  /**
   * `auth` and `admin`, when given, serve AuthService and AdminService too
   * (a server with AUTH=required); without them those calls are UNIMPLEMENTED.
   */
  constructor({
    auth,
    admin,
  }: {
    auth?: Partial<ServiceImpl<typeof AuthService>>;
    admin?: Partial<ServiceImpl<typeof AdminService>>;
  } = {}) {
    const impl: Partial<ServiceImpl<typeof DashboardService>> = {
      listSessions: (request) => {
        this.listCalls++;
        this.listRequests.push({ pageSize: request.pageSize, pageToken: request.pageToken });
        this.listQueries.push({
          text: request.text,
          tags: request.tags,
          sessionIds: request.sessionIds,
        });
        if (this.listError) throw this.listError;
        // The text filter like the server's: a case-insensitive substring of id or name.
        const text = request.text.toLowerCase();
        const matching = this.sessions.filter(
          (session) =>
            (request.sessionIds.length === 0 || request.sessionIds.includes(session.sessionId)) &&
            (text === '' ||
              session.sessionId.toLowerCase().includes(text) ||
              session.name.toLowerCase().includes(text)),
        );
        // Pages like the server: page_size 0 is 100; the token here is just an offset.
        const start = request.pageToken === '' ? 0 : Number(request.pageToken);
        const size = request.pageSize === 0 ? 100 : request.pageSize;
        const end = Math.min(matching.length, start + size);
        return create(ListSessionsResponseSchema, {
          sessions: matching.slice(start, end),
          nextPageToken: end < matching.length ? String(end) : '',
          totalSize: matching.length,
        });
      },
      watchSession: (request, context) => {
        this.resumeCursors.push(request.resumeCursor);
        return this.watch(request.sessionId, context.signal);
      },
      sendCommand: (request) => this.onSendCommand(request),
      updateSession: (request) => {
        const found = this.sessions.find((session) => session.sessionId === request.sessionId);
        if (!found) throw new ConnectError('not found', Code.NotFound);
        if (request.name !== undefined) found.name = request.name;
        if (request.setTags && found.metadata) found.metadata.tags = request.tags;
        return create(UpdateSessionResponseSchema, { session: found });
      },
      deleteSession: (request) => {
        this.sessions = this.sessions.filter((session) => session.sessionId !== request.sessionId);
        return create(DeleteSessionResponseSchema);
      },
      querySeries: (request) => this.onQuerySeries(request),
      getConfusionMatrix: (request) => {
        this.confusionRequests.push(request);
        return this.onGetConfusionMatrix(request);
      },
      getImageFrames: (request) => {
        this.imageFrameRequests.push(request);
        return this.onGetImageFrames(request);
      },
    };
    this.transport = createRouterTransport(({ service }) => {
      service(DashboardService, impl);
      if (auth) service(AuthService, auth);
      if (admin) service(AdminService, admin);
    });
  }

  /** The stream the next WatchSession call will get (created on demand). */
  stream(index: number): Channel<WatchSessionResponse> {
    while (this.streams.length <= index) this.streams.push(new Channel());
    return this.streams[index];
  }

  private async *watch(
    sessionId: string,
    signal: AbortSignal,
  ): AsyncGenerator<WatchSessionResponse> {
    const index = this.watchRequests.length;
    this.watchRequests.push(sessionId);
    const channel = this.stream(index);
    signal.addEventListener('abort', () => {
      this.cancelled++;
      channel.end();
    });
    yield* channel;
  }
}

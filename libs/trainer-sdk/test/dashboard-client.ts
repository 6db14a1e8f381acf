import { create, type MessageInitShape } from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import {
  CommandType,
  DashboardService,
  ListSessionsRequestSchema,
  SendCommandRequestSchema,
  WatchSessionRequestSchema,
  toGrpcMethodDefinition,
  type SendCommandResponse,
  type SessionSnapshot,
  type SessionSummary,
  type WatchSessionResponse,
} from '@trainwatch/proto';
import { waitFor } from '@trainwatch/testing';

const list = toGrpcMethodDefinition(DashboardService.method.listSessions);
const send = toGrpcMethodDefinition(DashboardService.method.sendCommand);
const watch = toGrpcMethodDefinition(DashboardService.method.watchSession);

/** A test's view of the server as a dashboard sees it, over native gRPC. */
export class DashboardClient {
  private readonly client: grpc.Client;

  constructor(address: string) {
    this.client = new grpc.Client(address, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
    });
  }

  async sessions(): Promise<SessionSummary[]> {
    return new Promise((resolve, reject) =>
      this.client.makeUnaryRequest(
        list.path,
        list.requestSerialize,
        list.responseDeserialize,
        create(ListSessionsRequestSchema),
        (error, value) =>
          error || !value ? reject(error ?? new Error('empty')) : resolve(value.sessions),
      ),
    );
  }

  async session(sessionId: string): Promise<SessionSummary | undefined> {
    return (await this.sessions()).find((s) => s.sessionId === sessionId);
  }

  /** The first event of a watch: the snapshot, which carries what summaries leave out (class names). */
  async snapshot(sessionId: string): Promise<SessionSnapshot> {
    const watching = this.watch(sessionId);
    try {
      const first = await waitFor(() => watching.events[0]?.event, {
        what: `the snapshot of ${sessionId}`,
      });
      if (first.case !== 'snapshot')
        throw new Error(`the first event of ${sessionId} is ${first.case}`);
      return first.value;
    } finally {
      watching.stop();
    }
  }

  async command(
    sessionId: string,
    type: CommandType,
    timeoutMs = 5000,
  ): Promise<SendCommandResponse> {
    return new Promise((resolve, reject) =>
      this.client.makeUnaryRequest(
        send.path,
        send.requestSerialize,
        send.responseDeserialize,
        create(SendCommandRequestSchema, { sessionId, type, issuedBy: 'sdk-test', timeoutMs }),
        (error, value) => (error || !value ? reject(error ?? new Error('empty')) : resolve(value)),
      ),
    );
  }

  /** SendCommand with any request fields (custom commands: custom_name and arguments). */
  async send(
    init: MessageInitShape<typeof SendCommandRequestSchema>,
  ): Promise<SendCommandResponse> {
    return new Promise((resolve, reject) =>
      this.client.makeUnaryRequest(
        send.path,
        send.requestSerialize,
        send.responseDeserialize,
        create(SendCommandRequestSchema, { issuedBy: 'sdk-test', ...init }),
        (error, value) => (error || !value ? reject(error ?? new Error('empty')) : resolve(value)),
      ),
    );
  }

  /** Opens WatchSession and collects every event until `stop()`. */
  watch(sessionId: string): {
    events: WatchSessionResponse[];
    ended: Promise<void>;
    stop: () => void;
  } {
    const events: WatchSessionResponse[] = [];
    const call = this.client.makeServerStreamRequest(
      watch.path,
      watch.requestSerialize,
      watch.responseDeserialize,
      create(WatchSessionRequestSchema, { sessionId }),
    );
    call.on('data', (event: WatchSessionResponse) => events.push(event));
    const ended = new Promise<void>((resolve) => {
      call.on('error', () => resolve());
      call.on('end', () => resolve());
    });
    return { events, ended, stop: () => call.cancel() };
  }

  close(): void {
    this.client.close();
  }
}

/** Trainer sequences of the batch events a watcher saw (snapshot excluded). */
export function batchSequences(events: WatchSessionResponse[]): bigint[] {
  return events.flatMap((e) => (e.event.case === 'batch' ? [e.event.value.trainerSequence] : []));
}

/** Steps of batch events a watcher saw (snapshot excluded). */
export function batchSteps(events: WatchSessionResponse[]): number[] {
  return events.flatMap((e) => (e.event.case === 'batch' ? [Number(e.event.value.step)] : []));
}

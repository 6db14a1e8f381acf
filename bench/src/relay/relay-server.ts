import {
  Server,
  ServerCredentials,
  status,
  type sendUnaryData,
  type ServerDuplexStream,
  type ServerUnaryCall,
  type ServerWritableStream,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { create, toBinary } from '@bufbuild/protobuf';
import {
  CommandState,
  CommandType,
  MetricsResponseSchema,
  SendCommandResponseSchema,
  SessionResponseSchema,
  TrainingStatus,
} from '@trainwatch/proto';
// eslint-disable-next-line @nx/enforce-module-boundaries -- the relay opens its receive windows with the product's own function, so both sides are alike.
import { widenReceiveWindows } from '../../../apps/server/src/common/grpc-flow-control';
import { identity, RELAY_SESSION_HEADER } from '../common/grpc-raw';
import { COMMAND_RESULT_FIELD, hasTopLevelField, PATHS } from '../common/wire';

/**
 * Messages a relay watcher may have queued in grpc-js (its object-mode
 * writable) before the relay drops messages for it. The bare relay has no
 * per-watcher lanes: beyond this it skips that watcher, so a stalled reader
 * cannot exhaust memory.
 */
export const RELAY_WATCHER_MAX_QUEUED_MESSAGES = 256;
/**
 * The receive window the relay opens on every connection and stream: the
 * product's default GRPC_RECEIVE_WINDOW_BYTES, so the trainer's upload rides
 * on the same window on both sides of the comparison.
 */
export const RELAY_RECEIVE_WINDOW_BYTES = 1024 * 1024;
/** Commands awaiting a trainer's result, per session. */
export const RELAY_MAX_PENDING_COMMANDS = 1024;

const ACK = Buffer.from(
  toBinary(
    MetricsResponseSchema,
    create(MetricsResponseSchema, { payload: { case: 'ack', value: { success: true } } }),
  ),
);
const COMMAND = Buffer.from(
  toBinary(
    MetricsResponseSchema,
    create(MetricsResponseSchema, {
      payload: {
        case: 'command',
        value: { type: CommandType.PAUSE, commandId: 'relay', issuedBy: 'bench' },
      },
    }),
  ),
);
const COMMAND_DONE = Buffer.from(
  toBinary(
    SendCommandResponseSchema,
    create(SendCommandResponseSchema, {
      entry: { commandId: 'relay', type: CommandType.PAUSE, state: CommandState.SUCCEEDED },
      status: TrainingStatus.PAUSED,
    }),
  ),
);
const REGISTERED = Buffer.from(
  toBinary(
    SessionResponseSchema,
    create(SessionResponseSchema, { success: true, sessionId: 'relay' }),
  ),
);

const bytesMethod = (path: string, requestStream: boolean, responseStream: boolean) => ({
  path,
  requestStream,
  responseStream,
  requestSerialize: identity,
  requestDeserialize: identity,
  responseSerialize: identity,
  responseDeserialize: identity,
});

interface RelaySession {
  watchers: Set<ServerWritableStream<Buffer, Buffer>>;
  trainer?: ServerDuplexStream<Buffer, Buffer>;
  pendingCommands: sendUnaryData<Buffer>[];
}

/** Counters the relay keeps (readable in-process; the bench reads CPU/RSS from /proc). */
export interface RelayStats {
  forwarded: number;
  droppedForSlowWatchers: number;
}

/** A running relay. */
export interface Relay {
  port: number;
  stats: RelayStats;
  /** Watchers currently attached to a session. */
  watcherCount(sessionId: string): number;
  close(): Promise<void>;
}

/**
 * The baseline: a grpc-js server on the product's method paths that forwards
 * each trainer message's bytes to every watcher of the same session and
 * answers with a pre-serialized ack. Nothing is decoded, validated or kept,
 * so it is the most this stack can move on this machine.
 */
export async function startRelay(
  port: number,
  host = '127.0.0.1',
  receiveWindowBytes = RELAY_RECEIVE_WINDOW_BYTES,
): Promise<Relay> {
  const sessions = new Map<string, RelaySession>();
  const stats: RelayStats = { forwarded: 0, droppedForSlowWatchers: 0 };
  const sessionOf = (key: string): RelaySession => {
    let session = sessions.get(key);
    if (!session) {
      session = { watchers: new Set(), pendingCommands: [] };
      sessions.set(key, session);
    }
    return session;
  };
  const keyOf = (call: { metadata: { get(key: string): unknown[] } }): string =>
    String(call.metadata.get(RELAY_SESSION_HEADER)[0] ?? 'default');

  const server = new Server({
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
    'grpc.max_send_message_length': 64 * 1024 * 1024,
  });

  const telemetry: UntypedServiceImplementation = {
    RegisterTrainingSession: (
      _call: ServerUnaryCall<Buffer, Buffer>,
      callback: sendUnaryData<Buffer>,
    ) => callback(null, REGISTERED),
    StreamMetrics: (call: ServerDuplexStream<Buffer, Buffer>) => {
      const session = sessionOf(keyOf(call));
      session.trainer = call;
      call.on('data', (bytes: Buffer) => {
        if (hasTopLevelField(bytes, COMMAND_RESULT_FIELD)) {
          session.pendingCommands.shift()?.(null, COMMAND_DONE);
        } else {
          for (const watcher of session.watchers) {
            if (watcher.writableLength >= RELAY_WATCHER_MAX_QUEUED_MESSAGES) {
              stats.droppedForSlowWatchers++;
              continue;
            }
            watcher.write(bytes);
          }
          stats.forwarded++;
        }
        call.write(ACK);
      });
      const detach = () => {
        if (session.trainer === call) session.trainer = undefined;
      };
      call.on('end', () => {
        detach();
        call.end();
      });
      call.on('error', detach);
      call.on('cancelled', detach);
    },
  };
  const dashboard: UntypedServiceImplementation = {
    WatchSession: (call: ServerWritableStream<Buffer, Buffer>) => {
      const session = sessionOf(keyOf(call));
      session.watchers.add(call);
      const detach = () => session.watchers.delete(call);
      call.on('cancelled', detach);
      call.on('error', detach);
      call.on('close', detach);
    },
    SendCommand: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
      const session = sessionOf(keyOf(call));
      if (!session.trainer) {
        callback({ code: status.FAILED_PRECONDITION, details: 'no trainer connected' });
        return;
      }
      if (session.pendingCommands.length >= RELAY_MAX_PENDING_COMMANDS) {
        callback({ code: status.RESOURCE_EXHAUSTED, details: 'too many pending commands' });
        return;
      }
      session.pendingCommands.push(callback);
      session.trainer.write(COMMAND);
    },
  };

  server.addService(
    {
      RegisterTrainingSession: bytesMethod(PATHS.register, false, false),
      StreamMetrics: bytesMethod(PATHS.streamMetrics, true, true),
    },
    telemetry,
  );
  server.addService(
    {
      WatchSession: bytesMethod(PATHS.watchSession, false, true),
      SendCommand: bytesMethod(PATHS.sendCommand, false, false),
    },
    dashboard,
  );

  const boundPort = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${port}`, ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  // The product's own widening, so only the work between the sockets differs.
  widenReceiveWindows(server, receiveWindowBytes);
  return {
    port: boundPort,
    stats,
    watcherCount: (sessionId) => sessions.get(sessionId)?.watchers.size ?? 0,
    close: () =>
      new Promise<void>((resolve) => {
        for (const session of sessions.values()) {
          for (const watcher of session.watchers) watcher.end();
          session.trainer?.end();
        }
        server.tryShutdown(() => resolve());
        setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2000).unref();
      }),
  };
}

import { Client, credentials, Metadata, type ChannelOptions } from '@grpc/grpc-js';

/** Passes bytes through untouched: the load side pre-serializes, the relay never decodes. */
export const identity = (bytes: Buffer): Buffer => bytes;
/** Serializes an already-encoded message (grpc-js wants a Buffer). */
export const asBuffer = (bytes: Uint8Array): Buffer =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** Metadata key naming the session on the relay (which never decodes a message to find it). */
export const RELAY_SESSION_HEADER = 'x-bench-session';

/** Client channel options, the same for the product and the relay. */
export const CLIENT_OPTIONS: ChannelOptions = {
  // Image frames of 16 × 15 KB exceed nothing, but snapshots of long runs may be large.
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
  'grpc.max_send_message_length': 64 * 1024 * 1024,
  // Each load client gets its own connection, like separate trainer processes would.
  'grpc.use_local_subchannel_pool': 1,
  // 1 MiB receive windows, as the target's (GRPC_RECEIVE_WINDOW_BYTES): grpc-js keeps HTTP/2's
  // 64 KB otherwise, where grpc-go and C-core clients grow theirs (BDP probing), so 100 watchers
  // sharing this busy process would each hold the server to ~2 image frames per round trip.
  'grpc-node.flow_control_window': 1024 * 1024,
  // Long benchmark streams must not be cut by idle timers.
  'grpc.keepalive_time_ms': 30_000,
};

/** A raw grpc-js client: callers name method paths and (de)serializers themselves. */
export function rawClient(address: string): Client {
  return new Client(address, credentials.createInsecure(), CLIENT_OPTIONS);
}

/** Metadata naming the session (ignored by the product, used by the relay to route). */
export function sessionMetadata(sessionId: string): Metadata {
  const metadata = new Metadata();
  metadata.set(RELAY_SESSION_HEADER, sessionId);
  return metadata;
}

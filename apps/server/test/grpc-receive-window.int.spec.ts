import { connect, type ClientHttp2Session, type Settings } from 'node:http2';
import { waitFor } from '@trainwatch/testing';
import { startTestServer, type TestServer } from './harness';

/** What the gRPC listener tells a new HTTP/2 client: its SETTINGS and the connection's send window. */
async function windowsOffered(server: TestServer): Promise<{ stream: number; connection: number }> {
  const session: ClientHttp2Session = connect(`http://${server.grpcAddress}`);
  try {
    const settings = await new Promise<Settings>((resolve, reject) => {
      session.once('remoteSettings', resolve);
      session.once('error', reject);
    });
    // The connection window grows by the server's WINDOW_UPDATE, which follows its SETTINGS.
    let connection = 0;
    await waitFor(
      () => {
        connection = session.state.remoteWindowSize ?? 0;
        return connection >= server.settings.grpcReceiveWindowBytes;
      },
      {
        timeoutMs: 5000,
        what: `a connection window of ${server.settings.grpcReceiveWindowBytes} bytes`,
      },
    );
    return { stream: settings.initialWindowSize ?? 65_535, connection };
  } finally {
    session.close();
  }
}

describe('native gRPC receive windows (GRPC_RECEIVE_WINDOW_BYTES)', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.shutdown();
    server = undefined;
  });

  it('lets a trainer have 1 MiB in flight per stream and per connection by default, not HTTP/2’s 64 KB', async () => {
    server = await startTestServer();
    expect(server.settings.grpcReceiveWindowBytes).toBe(1024 * 1024);
    // A 16 × 2 KB batch is ~35 KB: at 64 KB only one fits per round trip, and a trainer whose
    // loop answers WINDOW_UPDATEs every 30 ms is capped below 60 msg/s.
    expect(await windowsOffered(server)).toEqual({ stream: 1024 * 1024, connection: 1024 * 1024 });
  });

  it('takes the window from the setting, down to HTTP/2’s default', async () => {
    server = await startTestServer({ GRPC_RECEIVE_WINDOW_BYTES: String(4 * 1024 * 1024) });
    expect(await windowsOffered(server)).toEqual({
      stream: 4 * 1024 * 1024,
      connection: 4 * 1024 * 1024,
    });
    await server.shutdown();
    server = await startTestServer({ GRPC_RECEIVE_WINDOW_BYTES: '65535' });
    expect(await windowsOffered(server)).toEqual({ stream: 65_535, connection: 65_535 });
  });

  it('refuses a window HTTP/2 cannot express, naming the bound', async () => {
    await expect(startTestServer({ GRPC_RECEIVE_WINDOW_BYTES: '1000' })).rejects.toThrow(
      /GRPC_RECEIVE_WINDOW_BYTES="1000" is invalid: expected .*65535/,
    );
  });
});

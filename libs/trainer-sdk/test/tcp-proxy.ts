import { once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP relay in front of the server whose connections a test can cut, so
 * the trainer loses its link while the server (and its state) lives on.
 */
export class TcpProxy {
  private readonly sockets = new Set<Socket>();
  private accepting = true;

  private constructor(private readonly server: Server) {}

  static async start(targetPort: number): Promise<TcpProxy> {
    const server = createServer();
    const proxy = new TcpProxy(server);
    server.on('connection', (client) => {
      if (!proxy.accepting) {
        client.destroy();
        return;
      }
      const upstream = connect({ host: '127.0.0.1', port: targetPort });
      proxy.sockets.add(client);
      proxy.sockets.add(upstream);
      client.pipe(upstream);
      upstream.pipe(client);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        proxy.sockets.delete(client);
        proxy.sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return proxy;
  }

  get address(): string {
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('proxy not listening');
    return `127.0.0.1:${address.port}`;
  }

  /** Destroys every relayed connection and refuses new ones until `restore()`. */
  cut(): void {
    this.accepting = false;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  restore(): void {
    this.accepting = true;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

import { loadServerConfig, type ServerSettings } from './config/server-config';
import { startServer } from './server';

/** Entry point: read settings, start, and shut down within bounds on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  let settings: ServerSettings;
  try {
    settings = loadServerConfig();
  } catch (error) {
    console.error(`trainwatch server: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
  const server = await startServer(settings);
  console.log(`trainwatch server: gRPC on ${server.grpcAddress}, HTTP on ${server.httpUrl}`);
  const stop = (signal: string) => {
    console.log(`trainwatch server: ${signal} received, shutting down`);
    // Exit even if something refuses to close, a little after the configured bound.
    setTimeout(() => process.exit(0), settings.shutdownTimeoutMs + 1000).unref();
    server.shutdown().then(
      () => process.exit(0),
      () => process.exit(0),
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  console.error(
    `trainwatch server: failed to start: ${error instanceof Error ? error.message : String(error)}`,
  );
  process.exit(1);
});

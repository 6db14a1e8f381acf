/**
 * Process entry of the bare relay baseline. RELAY_PORT picks the port (0 for
 * any); prints `relay listening on <port>` once bound.
 */
import { startRelay } from './relay-server';

async function main(): Promise<void> {
  const relay = await startRelay(
    Number(process.env.RELAY_PORT ?? 0),
    process.env.HOST ?? '127.0.0.1',
  );
  console.log(`relay listening on ${relay.port}`);
  const shutdown = () => {
    void relay.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

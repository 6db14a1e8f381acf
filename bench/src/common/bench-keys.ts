import { createClient } from '@connectrpc/connect';
import { createGrpcWebTransport } from '@connectrpc/connect-web';
import { AdminService, AuthService } from '@trainwatch/proto';

/** The setup token benchmark servers with AUTH=required start with (ADMIN_TOKEN). */
export const BENCH_ADMIN_TOKEN = 'bench-admin-token-not-a-secret';

/**
 * `count` API keys on a fresh server with AUTH=required and ADMIN_TOKEN=
 * BENCH_ADMIN_TOKEN, made the way an admin would: the first admin is set up
 * (SetUpFirstAdmin), then AdminService creates a trainer user and its keys,
 * one per trainer, as on a shared cluster where every job has its own.
 */
export async function makeApiKeys(httpUrl: string, count: number): Promise<string[]> {
  let cookie = '';
  const transport = createGrpcWebTransport({
    baseUrl: httpUrl,
    interceptors: [
      (next) => (request) => {
        if (cookie !== '') request.header.set('cookie', cookie);
        return next(request);
      },
    ],
  });
  await createClient(AuthService, transport).setUpFirstAdmin(
    { setupToken: BENCH_ADMIN_TOKEN, userName: 'bench-admin', password: BENCH_ADMIN_TOKEN },
    {
      onHeader: (headers) => {
        cookie = (headers.get('set-cookie') ?? '').split(';')[0] ?? '';
      },
    },
  );
  const admin = createClient(AdminService, transport);
  await admin.createUser({ userName: 'bench-trainers', role: 1, password: BENCH_ADMIN_TOKEN });
  const keys: string[] = [];
  for (let i = 0; i < count; i++) {
    keys.push((await admin.createApiKey({ userName: 'bench-trainers', name: `job-${i}` })).secret);
  }
  return keys;
}

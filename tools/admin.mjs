// `npm run admin -- <command>`: users, roles and API keys in the server's store
// (apps/server/src/admin). Builds the server first if it was never built.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist/apps/server/admin.js');
if (!existsSync(cli)) {
  const build = spawnSync(
    process.execPath,
    ['tools/build-node-app.mjs', 'apps/server', '--bundle'],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
  if (build.status !== 0) process.exit(build.status ?? 1);
}
const result = spawnSync(process.execPath, [cli, ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(result.status ?? 1);

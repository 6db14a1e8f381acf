import { loadServerConfig } from '../config/server-config';
import { AuthInputError, AuthStore } from '../auth/auth-store';
import { isRoleName, ROLE_NAMES } from '../auth/roles';
import { openStoreDatabase } from '../store/store-database';
import { AdminError } from './admin-error';
import { backup, copyStore, vacuum } from './store-commands';

/** Where the CLI reads a password from and writes its answers (tests pass their own). */
export interface AdminIo {
  env: Partial<Record<string, string | undefined>>;
  readPassword(): Promise<string>;
  out(line: string): void;
}

export const ADMIN_USAGE = `usage: npm run admin -- <command>
  create-user <name> --role viewer|operator|admin [--password-stdin]
  set-role <name> <role>
  set-password <name> --password-stdin
  create-key <user> [--name <key name>]   prints the key once; only its hash is kept
  revoke-key <key id>
  list
  backup <folder>                         a consistent copy of the SQLite store (database and image
                                          frames) in a new folder, while the server runs; start a
                                          server on it with DATA_DIR=<folder>
  vacuum                                  gives deleted runs' space back (SQLite: rewrites the file;
                                          the server's commits wait meanwhile, so prefer it stopped)
  copy-store --to <postgres url> [--frames-dir <dir>]
                                          every run, user and key of the SQLite store into an empty
                                          PostgreSQL database; image frames into its rows, or with
                                          --frames-dir into that folder (the servers' FRAMES_DIR)
Works on the store the server's settings name (DATA_DIR, DATABASE_URL, STORE_ENGINE).`;

function option(args: string[], name: string): string | undefined {
  const index = args.indexOf(name);
  return index === -1 ? undefined : args[index + 1];
}

/** The commands ADMIN_USAGE lists. */
const COMMANDS = [
  'create-user',
  'set-role',
  'set-password',
  'create-key',
  'revoke-key',
  'list',
  'backup',
  'vacuum',
  'copy-store',
];

/** Runs one admin command on the store; returns the process exit code. */
export async function runAdmin(args: string[], io: AdminIo): Promise<number> {
  const [command, first, second] = args;
  if (command === undefined || !COMMANDS.includes(command)) {
    // Before any store is opened (or a DATA_DIR created) for a command that does not exist.
    if (command !== undefined) io.out(`admin: unknown command ${JSON.stringify(command)}`);
    io.out(ADMIN_USAGE.replace('viewer|operator|admin', ROLE_NAMES.join('|')));
    return 2;
  }
  const settings = loadServerConfig({ ...io.env, AUTH: 'off', HOST: '127.0.0.1' });
  const storeCommand =
    command === 'copy-store'
      ? () => copyStore(option(args, '--to'), option(args, '--frames-dir'), settings, io.out)
      : command === 'backup'
        ? () => backup(first, settings, io.out)
        : command === 'vacuum'
          ? () => vacuum(settings, io.out)
          : undefined;
  if (storeCommand !== undefined) {
    try {
      await storeCommand();
      return 0;
    } catch (error) {
      if (!(error instanceof AdminError)) throw error;
      io.out(`admin: ${error.message}`);
      return error.exitCode;
    }
  }
  if (settings.storeEngine === 'memory') {
    io.out(
      "admin: STORE_ENGINE=memory keeps no users; point DATA_DIR or DATABASE_URL at the server's store",
    );
    return 2;
  }
  // Users and keys only: no frames folder to open (nor a frame writer number to take).
  const database = await openStoreDatabase({ ...settings, framesDir: '' });
  if (database === null) return 2;
  const store = new AuthStore(database.db);
  try {
    switch (command) {
      case 'create-user': {
        const role = option(args, '--role') ?? '';
        if (first === undefined || !isRoleName(role)) break;
        const password = args.includes('--password-stdin') ? await io.readPassword() : '';
        const user = await store.createUser(first, role, password);
        io.out(
          `created user ${user.name} (${user.role})${password === '' ? ', no password yet' : ''}`,
        );
        return 0;
      }
      case 'set-role': {
        if (first === undefined || second === undefined || !isRoleName(second)) break;
        await store.setRole(first, second);
        io.out(`${first} is now ${second}`);
        return 0;
      }
      case 'set-password': {
        if (first === undefined || !args.includes('--password-stdin')) break;
        await store.setPassword(first, await io.readPassword());
        io.out(`password of ${first} changed`);
        return 0;
      }
      case 'create-key': {
        if (first === undefined) break;
        const key = await store.createKey(first, option(args, '--name') ?? '');
        io.out(
          `key ${key.id} for ${first} (shown once; give it to the trainer as TRAINWATCH_API_KEY):`,
        );
        io.out(key.secret);
        return 0;
      }
      case 'revoke-key': {
        if (first === undefined) break;
        await store.revokeKey(first);
        io.out(`key ${first} revoked`);
        return 0;
      }
      case 'list': {
        const users = await store.listUsers();
        const keys = await store.listKeys();
        if (users.length === 0 && keys.length === 0) {
          io.out(
            'no users or API keys in this store yet: npm run admin -- create-user <name> --role admin',
          );
        }
        for (const user of users) io.out(`user ${user.name} ${user.role}`);
        for (const key of keys) {
          io.out(
            `key ${key.id} ${key.userName} ${key.name || '-'} ${key.revokedAtMs === null ? 'active' : 'revoked'}`,
          );
        }
        return 0;
      }
    }
    io.out(ADMIN_USAGE.replace('viewer|operator|admin', ROLE_NAMES.join('|')));
    return 2;
  } catch (error) {
    if (error instanceof AuthInputError) {
      io.out(`admin: ${error.message}`);
      return 1;
    }
    throw error;
  } finally {
    await database.close();
  }
}

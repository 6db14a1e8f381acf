import { loadServerConfig } from '../config/server-config';
import { AuthInputError, AuthStore } from '../auth/auth-store';
import { isRoleName, ROLE_NAMES } from '../auth/roles';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase, SQLITE_FILE } from '../store/open-database';
import { openStoreDatabase } from '../store/store-database';
import { backupSqliteStore, BackupError } from './backup-store';
import { copySqliteToPostgres, CopyStoreError, redactedUrl } from './copy-store';
import { vacuumStore } from './vacuum-store';

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

/** Runs one admin command on the store; returns the process exit code. */
export async function runAdmin(args: string[], io: AdminIo): Promise<number> {
  const [command, first, second] = args;
  const settings = loadServerConfig({ ...io.env, AUTH: 'off', HOST: '127.0.0.1' });
  if (command === 'copy-store') return copyStore(args, settings, io);
  if (command === 'backup') return backup(first, settings, io);
  if (command === 'vacuum') return vacuum(settings, io);
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
        for (const user of await store.listUsers()) io.out(`user ${user.name} ${user.role}`);
        for (const key of await store.listKeys()) {
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

const count = (value: number) => value.toLocaleString('en-US');

/** `copy-store`: the SQLite store the settings name into an empty PostgreSQL database. */
async function copyStore(
  args: string[],
  settings: ReturnType<typeof loadServerConfig>,
  io: AdminIo,
): Promise<number> {
  const url = option(args, '--to');
  const framesDir = option(args, '--frames-dir');
  if (url === undefined || !/^postgres(ql)?:\/\//.test(url)) {
    io.out(
      'admin: copy-store --to <postgres://user:password@host:5432/database> [--frames-dir <dir>]',
    );
    return 2;
  }
  if (settings.storeEngine !== 'sqlite') {
    io.out(
      `admin: copy-store copies a SQLite store (DATA_DIR); these settings name ${settings.storeEngine} (unset DATABASE_URL and STORE_ENGINE)`,
    );
    return 2;
  }
  const file = join(settings.dataDir, SQLITE_FILE);
  if (!existsSync(file)) {
    io.out(`admin: no SQLite store at ${file} (set DATA_DIR to the folder that holds it)`);
    return 2;
  }
  const started = Date.now();
  io.out(`copying ${file} into ${redactedUrl(url)}`);
  const source = await openDatabase({ engine: 'sqlite', dataDir: settings.dataDir });
  try {
    let target;
    try {
      target = await openDatabase({ engine: 'postgres', url });
    } catch (error) {
      io.out(
        `admin: cannot open ${redactedUrl(url)}: ${error instanceof Error ? error.message : String(error)}`,
      );
      return 1;
    }
    try {
      const copied = await copySqliteToPostgres(source, target, {
        framesDir,
        out: io.out,
      });
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      io.out(
        `copied ${count(copied.rows.sessions)} runs, ${count(copied.rows.points)} points, ${count(copied.rows.image_frames)} image frames` +
          ` and ${count(copied.rows.users)} users in ${seconds} s` +
          (framesDir === undefined
            ? ''
            : ` (${copied.segmentFiles} segment files into ${framesDir})`),
      );
      io.out(
        `start the server with DATABASE_URL=<that url>${framesDir === undefined ? '' : ` FRAMES_DIR=${framesDir}`}`,
      );
      return 0;
    } finally {
      await target.close();
    }
  } catch (error) {
    if (error instanceof CopyStoreError) {
      io.out(`admin: ${error.message}`);
      return 1;
    }
    throw error;
  } finally {
    await source.close();
  }
}

/** `backup <folder>`: the SQLite store the settings name, copied consistently into a new folder. */
async function backup(
  folder: string | undefined,
  settings: ReturnType<typeof loadServerConfig>,
  io: AdminIo,
): Promise<number> {
  if (folder === undefined || folder.startsWith('-')) {
    io.out('admin: backup <folder>   (a new or empty folder)');
    return 2;
  }
  if (settings.storeEngine !== 'sqlite') {
    io.out(
      `admin: backup copies a SQLite store (DATA_DIR); these settings name ${settings.storeEngine}: back up PostgreSQL with pg_dump (and FRAMES_DIR with a copy of that folder)`,
    );
    return 2;
  }
  const file = join(settings.dataDir, SQLITE_FILE);
  if (!existsSync(file)) {
    io.out(`admin: no SQLite store at ${file} (set DATA_DIR to the folder that holds it)`);
    return 2;
  }
  const started = Date.now();
  io.out(`backing up ${settings.dataDir} into ${folder}`);
  const source = await openDatabase({ engine: 'sqlite', dataDir: settings.dataDir });
  try {
    const summary = backupSqliteStore(source, folder, io.out);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    io.out(
      `backed up ${count(summary.runs)} runs in ${seconds} s` +
        (summary.framesLeftOut > 0
          ? `; ${count(summary.framesLeftOut)} image frames that aged out of retention during the backup were left out`
          : ''),
    );
    io.out(`start a server on it with DATA_DIR=${folder}`);
    return 0;
  } catch (error) {
    if (error instanceof BackupError) {
      io.out(`admin: ${error.message}`);
      return 1;
    }
    throw error;
  } finally {
    await source.close();
  }
}

/** `vacuum`: the deleted runs' space of the store the settings name, given back. */
async function vacuum(settings: ReturnType<typeof loadServerConfig>, io: AdminIo): Promise<number> {
  if (settings.storeEngine === 'memory') {
    io.out('admin: STORE_ENGINE=memory keeps nothing to vacuum');
    return 2;
  }
  if (settings.storeEngine === 'sqlite' && !existsSync(join(settings.dataDir, SQLITE_FILE))) {
    io.out(
      `admin: no SQLite store at ${join(settings.dataDir, SQLITE_FILE)} (set DATA_DIR to the folder that holds it)`,
    );
    return 2;
  }
  const started = Date.now();
  const database = await openStoreDatabase({ ...settings, framesDir: '', storeWriteThread: false });
  if (database === null) return 2;
  try {
    const { before, after } = await vacuumStore(database);
    const megabytes = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
    io.out(
      `vacuumed the ${settings.storeEngine === 'sqlite' ? 'SQLite' : 'PostgreSQL'} store: ${megabytes(before)} before, ${megabytes(after)} after, in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    return 0;
  } finally {
    await database.close();
  }
}

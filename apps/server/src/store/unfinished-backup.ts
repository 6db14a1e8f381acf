import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * File a backup writes first into the folder it builds and removes last
 * (admin/backup-folder.ts): a folder holding it is a backup that was
 * interrupted (kill -9, a lost machine), whatever else is in it.
 */
export const UNFINISHED_BACKUP_FILE = 'UNFINISHED-BACKUP.txt';

/** What UNFINISHED_BACKUP_FILE says to someone who opens the folder. */
export const UNFINISHED_BACKUP_TEXT =
  'A trainwatch backup was being written into this folder and did not finish.\n' +
  'It is not a backup: a server refuses to start on it. Delete this folder and run the backup again\n' +
  '(the next `npm run admin -- backup` into the same folder removes it on its own).\n';

/**
 * Refuses a DATA_DIR that holds an interrupted backup: started on one, a
 * server listed some runs, or none, or runs missing frames, and said nothing.
 */
export function refuseUnfinishedBackup(dataDir: string): void {
  if (!existsSync(join(dataDir, UNFINISHED_BACKUP_FILE))) return;
  throw new Error(
    `DATA_DIR ${dataDir} holds a backup that did not finish (it was interrupted), not a store: ` +
      'run that backup again (it removes this first), or delete it',
  );
}

import {
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UNFINISHED_BACKUP_FILE, UNFINISHED_BACKUP_TEXT } from '../store/unfinished-backup';
import { AdminError } from './admin-error';

/** Name of the folder a backup into `<folder>` is built in, beside it, until it is whole. */
export const unfinishedFolder = (folder: string) =>
  join(dirname(resolve(folder)), `${basename(resolve(folder))}.unfinished-backup`);

/** Where a backup is being built, and how it becomes the backup or goes away. */
export interface BackupFolder {
  /** The folder the files are written into. */
  readonly work: string;
  /** The backup is whole: it becomes `folder`. */
  finish(): void;
  /** Removes what was written (`folder` is left as it was before). */
  discard(): void;
}

/**
 * A folder to build a backup of `folder` in, so that no interruption (kill
 * -9 included, which no handler sees) can leave something at `folder` that
 * looks like a backup: it is built in `<folder>.unfinished-backup` beside
 * it and renamed to `folder` as the last step (rename(2) replaces an empty
 * folder). Both hold UNFINISHED_BACKUP_FILE until they are whole, which a
 * server refuses to start on. An empty folder that is a mount point (a disk
 * of its own) is built in place instead: a rename cannot cross disks, and
 * the copy belongs on that disk. What an interrupted backup left behind is
 * removed by the next backup into the same folder, which says so.
 */
export function prepareBackupFolder(folder: string, out: (line: string) => void): BackupFolder {
  const sibling = unfinishedFolder(folder);
  if (existsSync(sibling)) {
    if (!existsSync(join(sibling, UNFINISHED_BACKUP_FILE))) {
      throw new AdminError(
        `${sibling} is in the way (a backup into ${folder} is built there first): move it away or delete it`,
      );
    }
    rmSync(sibling, { recursive: true, force: true });
    out(`  removed ${sibling}: a backup into ${folder} that was interrupted`);
  }
  const existed = existsSync(folder);
  if (existed && existsSync(join(folder, UNFINISHED_BACKUP_FILE))) {
    emptyFolder(folder);
    out(`  removed the backup into ${folder} that was interrupted`);
  } else if (existed && readdirSync(folder).length > 0) {
    throw new AdminError(`${folder} is not empty: back up into a new folder`);
  }
  const inPlace = existed && statSync(folder).dev !== statSync(dirname(resolve(folder))).dev;
  const work = inPlace ? folder : sibling;
  mkdirSync(work, { recursive: true });
  writeFileSync(join(work, UNFINISHED_BACKUP_FILE), UNFINISHED_BACKUP_TEXT);
  return {
    work,
    finish: () => {
      unlinkSync(join(work, UNFINISHED_BACKUP_FILE));
      if (!inPlace) renameSync(work, folder);
    },
    discard: () => {
      if (inPlace) emptyFolder(work);
      else rmSync(work, { recursive: true, force: true });
    },
  };
}

/** Empties `folder`, UNFINISHED_BACKUP_FILE last: killed half-way, what is left is still marked. */
function emptyFolder(folder: string): void {
  const entries = readdirSync(folder).filter((entry) => entry !== UNFINISHED_BACKUP_FILE);
  for (const entry of [...entries, UNFINISHED_BACKUP_FILE]) {
    rmSync(join(folder, entry), { recursive: true, force: true });
  }
}

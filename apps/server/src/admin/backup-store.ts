import { mkdirSync, statSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { FrameFiles, segmentKey } from '../store/frame-files';
import { fullDisk } from '../store/store-errors';
import { AdminError } from './admin-error';
import { prepareBackupFolder } from './backup-folder';
import { Interrupted, watchInterruption, type Interruption } from './interruption';
import { vacuumInto } from './vacuum-into';
import { FRAMES_FOLDER, SQLITE_FILE, type OpenDatabase } from '../store/open-database';

export interface BackupSummary {
  runs: number;
  databaseBytes: number;
  segmentFiles: number;
  segmentBytes: number;
  /** Frames left out: their segment file was deleted (retention) between the snapshot and its copy. */
  framesLeftOut: number;
}

/**
 * A consistent copy of a SQLite store in `folder`, made while the server
 * runs: the database through `VACUUM INTO` (one read transaction, so one
 * moment of it, compacted; the server's commits go on), then the segment
 * files its image frames name, copied (never linked: a server started on
 * the backup appends to its own files). A segment deleted between the two
 * (its frames aged out of retention meanwhile) leaves its frames out of the
 * backup, rows included, and the runs' frame counts are set to what is
 * kept. `folder` then works as a DATA_DIR of its own.
 *
 * Half a backup looks like a whole one (a server on it listed no runs, or
 * runs with frames missing, and said nothing), so `folder` only ever holds
 * the whole one: it is built beside it and renamed into place last
 * (backup-folder.ts). A backup that fails (a full disk, most often) or is
 * stopped by SIGINT or SIGTERM removes what it wrote; one killed outright
 * leaves `<folder>.unfinished-backup`, which no server starts on and the
 * next backup into `folder` removes.
 */
export async function backupSqliteStore(
  source: OpenDatabase,
  folder: string,
  out: (line: string) => void,
): Promise<BackupSummary> {
  const sqlite = source.sqlite;
  const sourceFrames = source.frameFiles;
  if (sqlite === undefined || sourceFrames === undefined) {
    throw new Error('backup copies a SQLite store');
  }
  const target = prepareBackupFolder(folder, out);
  const interruption = watchInterruption((signal) =>
    out(`  ${signal}: stopping; the unfinished backup is being removed`),
  );
  try {
    const summary = await copyStore(sqlite, sourceFrames, target.work, out, interruption);
    target.finish();
    return summary;
  } catch (error) {
    // After the step still running (a signal does not stop SQLite's call, nor a copy under way):
    // removed earlier, it could write into the folder as it goes.
    await interruption.settled();
    target.discard();
    if (error instanceof Interrupted) {
      throw new AdminError(
        `${error.message}: the backup was stopped and what it had written is removed; ${folder} holds no backup`,
        error.exitCode,
      );
    }
    const reason = messageOf(error);
    throw new AdminError(
      fullDisk(error) !== undefined
        ? `the disk holding ${folder} is full (${reason}): the backup failed and what it had written there is removed; back up into a folder on a disk with room for the store`
        : `the backup failed and what it had written in ${folder} is removed: ${reason}`,
    );
  } finally {
    interruption.stop();
  }
}

/** The database, then the segment files its frames name, into `folder` (made). */
async function copyStore(
  sqlite: NonNullable<OpenDatabase['sqlite']>,
  sourceFrames: FrameFiles,
  folder: string,
  out: (line: string) => void,
  interruption: Interruption,
): Promise<BackupSummary> {
  const file = join(folder, SQLITE_FILE);
  await interruption.until(vacuumInto(sqlite.name, file));
  const databaseBytes = statSync(file).size;
  out(`  database: ${megabytes(databaseBytes)}`);

  const backup = new BetterSqlite3(file);
  try {
    const frames = new FrameFiles(join(folder, FRAMES_FOLDER));
    const segments = backup
      .prepare(
        'select distinct session_id, file_writer, file_segment from image_frames where file_segment is not null',
      )
      .all() as { session_id: string; file_writer: number | null; file_segment: number }[];
    const dropFrames = backup.prepare(
      'delete from image_frames where session_id = ? and file_segment = ? and file_writer is ?',
    );
    const recount = backup.prepare(
      `update sessions set
         stored_frames = (select count(*) from image_frames where session_id = sessions.id),
         stored_image_bytes = (select coalesce(sum(bytes), 0) from image_frames where session_id = sessions.id)
       where id = ?`,
    );
    let segmentFiles = 0;
    let segmentBytes = 0;
    let framesLeftOut = 0;
    const shortened = new Set<string>();
    let reportAt = Date.now() + 2000;
    for (const segment of segments) {
      const key = segmentKey(segment.file_writer, segment.file_segment);
      const from = sourceFrames.segmentPath(segment.session_id, key);
      const to = frames.segmentPath(segment.session_id, key);
      mkdirSync(dirname(to), { recursive: true });
      try {
        await interruption.until(copyFile(from, to));
        segmentFiles += 1;
        segmentBytes += statSync(to).size;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        framesLeftOut += dropFrames.run(
          segment.session_id,
          segment.file_segment,
          segment.file_writer,
        ).changes;
        shortened.add(segment.session_id);
      }
      if (Date.now() >= reportAt) {
        out(`  image frames: ${segmentFiles} of ${segments.length} segment files so far`);
        reportAt = Date.now() + 2000;
      }
    }
    for (const sessionId of shortened) recount.run(sessionId);
    const runs = (backup.prepare('select count(*) as runs from sessions').get() as { runs: number })
      .runs;
    out(`  image frames: ${segmentFiles} segment files, ${megabytes(segmentBytes)}`);
    return { runs, databaseBytes, segmentFiles, segmentBytes, framesLeftOut };
  } finally {
    backup.close();
  }
}

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** An error's own words (duck-typed: a driver's error class may come from another realm). */
function messageOf(error: unknown): string {
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : String(error);
}

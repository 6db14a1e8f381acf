import { toBinary } from '@bufbuild/protobuf';
import { RunMetadataSchema, type RunMetadata } from '@trainwatch/proto';
import type { Kysely, Transaction } from 'kysely';
import { RETENTION_KEEP_TAG } from '../common/limits';
import type { Database } from './schema';
import type { FrameFiles } from './frame-files';

/** What UpdateSession changes in a stored run. */
export interface StoredRunEdit {
  name?: string;
  /** The whole merged metadata (tags and note included), when it changed. */
  metadata?: RunMetadata;
}

/**
 * Changes the store makes for dashboards (UpdateSession, DeleteSession) and
 * for retention, each in one transaction. Trainer data is written by the
 * store writer; these touch only what they are asked to.
 */
export class StoreEdits {
  constructor(
    private readonly db: Kysely<Database>,
    /** Where frames stored in segment files are (SQLite; frame-files.ts). */
    private readonly frameFiles?: FrameFiles,
  ) {}

  /** Applies `edit` to a stored run; false when the store has no such run. */
  async updateSession(id: string, edit: StoredRunEdit): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      const changes: { name?: string; metadata?: Buffer; note?: string } = {};
      if (edit.name !== undefined) changes.name = edit.name;
      if (edit.metadata !== undefined) {
        changes.metadata = Buffer.from(toBinary(RunMetadataSchema, edit.metadata));
        changes.note = edit.metadata.note ?? '';
      }
      const result =
        Object.keys(changes).length === 0
          ? await tx.selectFrom('sessions').select('id').where('id', '=', id).execute()
          : await tx
              .updateTable('sessions')
              .set(changes)
              .where('id', '=', id)
              .returning('id')
              .execute();
      if (result.length === 0) return false;
      if (edit.metadata !== undefined) {
        await tx.deleteFrom('session_tags').where('session_id', '=', id).execute();
        const tags = [...new Set(edit.metadata.tags)];
        if (tags.length > 0) {
          await tx
            .insertInto('session_tags')
            .values(tags.map((tag) => ({ session_id: id, tag })))
            .execute();
        }
      }
      return true;
    });
  }

  /**
   * Deletes every row of a run (its points and images included); false when
   * there was none. With `expiredBefore` (retention), only while the run is
   * still expired: not updated since then and not tagged
   * RETENTION_KEEP_TAG, looked at in the deleting transaction (its row
   * locked, so a commit of another server's trainer cannot slip in
   * between); false, and nothing deleted, otherwise.
   */
  async deleteSession(
    id: string,
    { expiredBefore }: { expiredBefore?: number } = {},
  ): Promise<boolean> {
    const deleted = await this.db.transaction().execute(async (tx) => {
      if (expiredBefore !== undefined && !(await claimExpired(tx, id, expiredBefore))) return false;
      return deleteRun(tx, id);
    });
    if (!deleted && expiredBefore !== undefined) return false;
    // After the rows: a crash in between leaves files no row names, swept if the run comes back.
    await this.frameFiles?.removeRun(id);
    return deleted;
  }

  /**
   * Deletes the frames folders of runs the store does not have (a crash
   * between a run's rows and its folder going); resolves with how many.
   */
  async sweepOrphanFrames(graceMs: number): Promise<number> {
    if (this.frameFiles === undefined) return 0;
    const rows = await this.db.selectFrom('sessions').select('id').execute();
    return this.frameFiles.sweepOrphanRuns(
      rows.map((row) => row.id),
      graceMs,
    );
  }

  /**
   * Retention: the ids of at most `limit` runs last updated before
   * `updatedBefore`, oldest first, leaving out `keep` (runs in use) and
   * runs tagged RETENTION_KEEP_TAG.
   */
  async expiredRuns(
    updatedBefore: number,
    limit: number,
    keep: readonly string[],
  ): Promise<string[]> {
    let query = this.db
      .selectFrom('sessions')
      .select('id')
      .where('last_update_ms', '<', updatedBefore)
      .where(({ exists, not, selectFrom }) =>
        not(
          exists(
            selectFrom('session_tags')
              .select('session_tags.session_id')
              .whereRef('session_tags.session_id', '=', 'sessions.id')
              .where('session_tags.tag', '=', RETENTION_KEEP_TAG),
          ),
        ),
      );
    if (keep.length > 0) query = query.where('id', 'not in', [...keep]);
    const rows = await query.orderBy('last_update_ms').orderBy('id').limit(limit).execute();
    return rows.map((row) => row.id);
  }
}

/**
 * Whether the run is still expired, its row locked for the rest of the
 * transaction: an UPDATE that changes nothing takes the row's lock on
 * PostgreSQL and the write lock on SQLite, where a SELECT would take neither.
 */
async function claimExpired(
  tx: Transaction<Database>,
  id: string,
  expiredBefore: number,
): Promise<boolean> {
  const claimed = await tx
    .updateTable('sessions')
    .set((eb) => ({ last_update_ms: eb.ref('last_update_ms') }))
    .where('id', '=', id)
    .where('last_update_ms', '<', expiredBefore)
    .where(({ exists, not, selectFrom }) =>
      not(
        exists(
          selectFrom('session_tags')
            .select('session_tags.session_id')
            .whereRef('session_tags.session_id', '=', 'sessions.id')
            .where('session_tags.tag', '=', RETENTION_KEEP_TAG),
        ),
      ),
    )
    .returning('id')
    .execute();
  return claimed.length > 0;
}

async function deleteRun(tx: Transaction<Database>, id: string): Promise<boolean> {
  await tx
    .deleteFrom('series_blocks')
    .where('series_id', 'in', (eb) =>
      eb.selectFrom('series').select('id').where('session_id', '=', id),
    )
    .execute();
  await tx
    .deleteFrom('points')
    .where('series_id', 'in', (eb) =>
      eb.selectFrom('series').select('id').where('session_id', '=', id),
    )
    .execute();
  await tx.deleteFrom('series').where('session_id', '=', id).execute();
  for (const table of [
    'epochs',
    'performance',
    'commands',
    'image_frames',
    'status_events',
    'session_tags',
    'confusion_matrices',
    'alerts',
    'alert_settings',
  ] as const) {
    await tx.deleteFrom(table).where('session_id', '=', id).execute();
  }
  const deleted = await tx.deleteFrom('sessions').where('id', '=', id).executeTakeFirst();
  return Number(deleted.numDeletedRows) > 0;
}

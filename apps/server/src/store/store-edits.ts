import { toBinary } from '@bufbuild/protobuf';
import { RunMetadataSchema, type RunMetadata } from '@trainwatch/proto';
import type { Expression, ExpressionBuilder, Kysely, SqlBool, Transaction } from 'kysely';
import { RETENTION_KEEP_TAG } from '../common/limits';
import type { Database } from './schema';
import { decodeStored } from './stored-message';
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

  /**
   * Applies an edit to a stored run; false when the store has no such run.
   * A function is given the run's metadata as stored when the edit runs,
   * its row locked until the edit commits, so two edits at once (another
   * dashboard, another server) each see the other's result and neither is
   * lost. What it throws rolls the edit back.
   */
  async updateSession(
    id: string,
    edit: StoredRunEdit | ((current: RunMetadata | undefined) => StoredRunEdit),
  ): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      const locked = await lockRow(tx, id);
      if (locked === undefined) return false;
      const { name, metadata } =
        typeof edit === 'function'
          ? edit(
              locked.metadata === null
                ? undefined
                : decodeStored(RunMetadataSchema, locked.metadata, `the metadata of ${id}`),
            )
          : edit;
      const changes: { name?: string; metadata?: Buffer; note?: string } = {};
      if (name !== undefined) changes.name = name;
      if (metadata !== undefined) {
        changes.metadata = Buffer.from(toBinary(RunMetadataSchema, metadata));
        changes.note = metadata.note ?? '';
      }
      if (Object.keys(changes).length > 0)
        await tx.updateTable('sessions').set(changes).where('id', '=', id).execute();
      if (metadata !== undefined) {
        await tx.deleteFrom('session_tags').where('session_id', '=', id).execute();
        const tags = [...new Set(metadata.tags)];
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
      // The run's row first, as an edit locks it: an edit and a delete at once wait for each
      // other instead of each holding what the other needs (a deadlock on PostgreSQL).
      const claimed =
        expiredBefore === undefined
          ? (await lockRow(tx, id)) !== undefined
          : await claimExpired(tx, id, expiredBefore);
      return claimed && deleteRun(tx, id);
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
      .where(notKept);
    if (keep.length > 0) query = query.where('id', 'not in', [...keep]);
    const rows = await query.orderBy('last_update_ms').orderBy('id').limit(limit).execute();
    return rows.map((row) => row.id);
  }
}

/** A `sessions` row not tagged RETENTION_KEEP_TAG: retention leaves those alone. */
const notKept = ({
  exists,
  not,
  selectFrom,
}: ExpressionBuilder<Database, 'sessions'>): Expression<SqlBool> =>
  not(
    exists(
      selectFrom('session_tags')
        .select('session_tags.session_id')
        .whereRef('session_tags.session_id', '=', 'sessions.id')
        .where('session_tags.tag', '=', RETENTION_KEEP_TAG),
    ),
  );

/**
 * A run's row, locked for the rest of the transaction (undefined when there
 * is none): an UPDATE that changes nothing takes the row's lock on
 * PostgreSQL and the write lock on SQLite, where a SELECT would take neither.
 */
function lockRow(
  tx: Transaction<Database>,
  id: string,
): Promise<{ metadata: Uint8Array | null } | undefined> {
  return tx
    .updateTable('sessions')
    .set((eb) => ({ last_update_ms: eb.ref('last_update_ms') }))
    .where('id', '=', id)
    .returning('metadata')
    .executeTakeFirst();
}

/** Whether the run is still expired, its row locked for the rest of the transaction (see lockRow). */
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
    .where(notKept)
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

import type { Pool, PoolClient } from 'pg';
import type { FrameJob, FrameRow } from './frame-job';

/** Blob bytes per multi-row INSERT of image frames, to keep each statement a few MB. */
const MAX_FRAME_BYTES_PER_STATEMENT = 8 * 1024 * 1024;
/** Bound parameters per statement (PostgreSQL allows 65,535). */
const MAX_FRAME_PARAMETERS = 30_000;
/** Columns of a FrameRow. */
const FRAME_COLUMNS = 7;
/** Distinct statement texts kept (they differ only in row count; the common ones stay). */
const MAX_CACHED_TEXTS = 256;

const INSERT_PREFIX =
  'insert into image_frames (session_id, step, epoch, batch_idx, timestamp_ms, bytes, frame) values ';
const INSERT_SUFFIX =
  ' on conflict (session_id, step) do update set epoch = excluded.epoch, batch_idx = excluded.batch_idx, timestamp_ms = excluded.timestamp_ms, bytes = excluded.bytes, frame = excluded.frame';
/** One statement per commit for every dropped frame: (session, step) pairs as two arrays. */
const DELETE_TEXT =
  'delete from image_frames f using unnest($1::text[], $2::bigint[]) as d(session_id, step) where f.session_id = d.session_id and f.step = d.step';
/** The same delete ahead of the insert, in one statement (its parameters come first). */
const DELETE_THEN_INSERT_PREFIX = `with dropped as (${DELETE_TEXT}) `;

/**
 * Writes image frames to PostgreSQL on a connection of their own, in a
 * transaction that runs while the store writer's main transaction does
 * (one statement when the commit's frames fit one, see writeOneStatement).
 * Frames are most of what a commit sends (16 × 2 KB per message); on one
 * connection they and the scalar rows took turns, so each commit waited for
 * the sum of both. The main transaction waits for this one to commit
 * before it commits (write-flush.ts): a crash between the two leaves frames
 * of a batch that was not acknowledged, which the trainer sends again and
 * the (session_id, step) key stores once.
 */
export class PostgresFrameWriter {
  private readonly texts = new Map<number, string>();

  constructor(private readonly pool: Pool) {}

  /** Commits the job in one transaction; rejects with PostgreSQL's error (the caller retries the batch). */
  async write(job: FrameJob): Promise<void> {
    if (fitsOneStatement(job.inserts)) return this.writeOneStatement(job);
    const client = await this.pool.connect();
    let failed = false;
    try {
      await client.query('begin');
      if (job.deletes.length > 0) {
        await client.query(DELETE_TEXT, [
          job.deletes.map(([sessionId]) => sessionId),
          job.deletes.map(([, step]) => step),
        ]);
      }
      await this.insert(client, job.inserts);
      await client.query('commit');
    } catch (error) {
      failed = true;
      throw error;
    } finally {
      // A connection whose transaction failed is closed, not reused: it may be mid-transaction or gone.
      client.release(failed);
    }
  }

  /**
   * A job that fits one statement is sent as one: the deletes as a
   * data-modifying WITH ahead of the multi-row insert, outside an explicit
   * transaction (a single statement commits or fails whole). One round trip
   * instead of four (begin, delete, insert, commit); the deleted and the
   * inserted steps never overlap (retention-plan.ts: a dropped step is not
   * inserted), so the two parts never touch the same row.
   */
  private async writeOneStatement(job: FrameJob): Promise<void> {
    const client = await this.pool.connect();
    let failed = false;
    try {
      const deletes = job.deletes.length > 0;
      const values: unknown[] = deletes
        ? [job.deletes.map(([sessionId]) => sessionId), job.deletes.map(([, step]) => step)]
        : [];
      if (job.inserts.length === 0) {
        await client.query(DELETE_TEXT, values);
        return;
      }
      // Buffers are bound in binary (node-postgres sends a Buffer parameter as bytes, not hex text).
      for (const row of job.inserts) for (const value of row) values.push(value);
      const insert = this.text(job.inserts.length, deletes ? 2 : 0);
      await client.query(deletes ? DELETE_THEN_INSERT_PREFIX + insert : insert, values);
    } catch (error) {
      failed = true;
      throw error;
    } finally {
      client.release(failed);
    }
  }

  private async insert(client: PoolClient, rows: readonly FrameRow[]): Promise<void> {
    let values: unknown[] = [];
    let chunkBytes = 0;
    for (const row of rows) {
      const bytes = row[5];
      if (
        values.length > 0 &&
        (chunkBytes + bytes > MAX_FRAME_BYTES_PER_STATEMENT ||
          values.length + FRAME_COLUMNS > MAX_FRAME_PARAMETERS)
      ) {
        await client.query(this.text(values.length / FRAME_COLUMNS), values);
        values = [];
        chunkBytes = 0;
      }
      // Buffers are bound in binary (node-postgres sends a Buffer parameter as bytes, not hex text).
      for (const value of row) values.push(value);
      chunkBytes += bytes;
    }
    if (values.length > 0) await client.query(this.text(values.length / FRAME_COLUMNS), values);
  }

  /** The insert of `rows` rows, its parameters numbered after `offset` others. */
  private text(rows: number, offset = 0): string {
    const key = offset === 0 ? rows : -rows;
    let text = this.texts.get(key);
    if (text !== undefined) return text;
    const parts: string[] = [];
    for (let row = 0; row < rows; row++) {
      const first = offset + row * FRAME_COLUMNS;
      const slots: string[] = [];
      for (let column = 1; column <= FRAME_COLUMNS; column++) slots.push(`$${first + column}`);
      parts.push(`(${slots.join(',')})`);
    }
    text = INSERT_PREFIX + parts.join(',') + INSERT_SUFFIX;
    if (this.texts.size >= MAX_CACHED_TEXTS) this.texts.clear();
    this.texts.set(key, text);
    return text;
  }
}

/** Whether the frames fit one statement under both bounds (the two delete arrays are two parameters more). */
function fitsOneStatement(rows: readonly FrameRow[]): boolean {
  if (rows.length * FRAME_COLUMNS + 2 > MAX_FRAME_PARAMETERS) return false;
  let bytes = 0;
  for (const row of rows) bytes += row[5];
  return bytes <= MAX_FRAME_BYTES_PER_STATEMENT;
}

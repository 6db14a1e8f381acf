import { sql, type Kysely, type Migration } from 'kysely';
import { columnTypes, type StoreEngine } from './column-types';

/**
 * series_blocks: min/max/count/last per block of 64 and 4096 steps of every
 * series (see ../series-blocks.ts), kept by the writer in the transaction
 * that inserts the points. Runs stored before this migration get their
 * blocks computed from their points here.
 */
export function seriesBlocksMigration(engine: StoreEngine): Migration {
  const { int64, double } = columnTypes(engine);
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('series_blocks')
        .addColumn('series_id', int64, (col) => col.notNull())
        .addColumn('block_size', 'integer', (col) => col.notNull())
        .addColumn('block_start', int64, (col) => col.notNull())
        .addColumn('first_step', int64, (col) => col.notNull())
        .addColumn('last_step', int64, (col) => col.notNull())
        .addColumn('point_count', int64, (col) => col.notNull())
        .addColumn('nan_count', int64, (col) => col.notNull())
        .addColumn('min_v', double)
        .addColumn('max_v', double)
        .addColumn('last_value', double)
        .addColumn('last_wall_ms', int64, (col) => col.notNull())
        .addPrimaryKeyConstraint('series_blocks_pk', ['series_id', 'block_size', 'block_start'])
        .execute();
      // The block sizes of this release (0095 added 512; 0105 128, 256, 1024 and 2048).
      for (const size of [4096, 64]) {
        // Floor division that also holds for negative steps in both engines.
        const start = sql`(step - ((step % ${sql.lit(size)} + ${sql.lit(size)}) % ${sql.lit(size)}))`;
        await sql`
          insert into series_blocks (series_id, block_size, block_start, first_step, last_step,
            point_count, nan_count, min_v, max_v, last_value, last_wall_ms)
          select series_id, ${sql.lit(size)}, ${start}, min(step), max(step), count(*),
            sum(case when value is null then 1 else 0 end), min(value), max(value), null, 0
          from points group by series_id, ${start}`.execute(db);
      }
      await sql`
        update series_blocks set
          last_value = (select p.value from points p where p.series_id = series_blocks.series_id
            and p.step = series_blocks.last_step order by p.wall_ms desc limit 1),
          last_wall_ms = (select p.wall_ms from points p where p.series_id = series_blocks.series_id
            and p.step = series_blocks.last_step order by p.wall_ms desc limit 1)`.execute(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('series_blocks').execute();
    },
  };
}

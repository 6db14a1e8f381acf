import { sql, type Kysely, type Migration } from 'kysely';

/** The sizes this migration adds between 64, 512 and 4096 (see ../series-blocks.ts). */
const ADDED_SIZES = [128, 256, 1024, 2048] as const;

/**
 * Block levels at every power of two from 64 to 4096 steps: every window
 * read from blocks is then one stored row per bucket (its bucket width is
 * a power of two that a level tiles), where windows of 256- or 320-step
 * buckets grouped four or five 64-step rows per bucket. Runs stored before
 * get the new levels from their 64-step rows here, as 0095 did for 512:
 * every block that ends at or below the 64-step level's watermark (closed,
 * so it holds all its points); readers take the raw points from a level's
 * watermark on, and a writer that resumes the series repairs the rest from
 * it (closing-blocks.ts). The statement is this migration's own, not the
 * writer's: a released migration must not change when the writer's do.
 */
export function seriesBlocksEveryPowerOfTwoMigration(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      for (const size of ADDED_SIZES) {
        const width = sql.lit(size);
        // Floor division that also holds for negative steps in both engines.
        const start = sql`(c.block_start - ((c.block_start % ${width} + ${width}) % ${width}))`;
        const last = (column: string) =>
          sql`(select l.${sql.ref(column)} from series_blocks l where l.series_id = g.series_id
            and l.block_size = 64 and l.block_start = g.last_block)`;
        await sql`
          insert into series_blocks (series_id, block_size, block_start, first_step, last_step,
            point_count, nan_count, min_v, max_v, last_value, last_wall_ms)
          select g.series_id, ${width}, g.block_start, g.first_step, g.last_step, g.n, g.nans,
            g.min_v, g.max_v, ${last('last_value')}, ${last('last_wall_ms')}
          from (
            select c.series_id, ${start} as block_start, max(c.block_start) as last_block,
              min(c.first_step) as first_step, max(c.last_step) as last_step,
              sum(c.point_count) as n, sum(c.nan_count) as nans,
              min(c.min_v) as min_v, max(c.max_v) as max_v
            from series_blocks c where c.block_size = 64
            group by c.series_id, ${start}
          ) g
          where g.block_start + ${width} <= (select max(w.block_start) + 64 from series_blocks w
            where w.series_id = g.series_id and w.block_size = 64)`.execute(db);
      }
    },
    async down(db: Kysely<unknown>): Promise<void> {
      for (const size of ADDED_SIZES) {
        await sql`delete from series_blocks where block_size = ${sql.lit(size)}`.execute(db);
      }
    },
  };
}

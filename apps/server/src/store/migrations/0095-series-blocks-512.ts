import { sql, type Kysely, type Migration } from 'kysely';

/**
 * A 512-step level of series_blocks (see ../series-blocks.ts): a window of
 * 1,000,000 steps in 2,000 buckets reads one 512-step row per bucket where
 * it grouped eight 64-step rows. Runs stored before get theirs from their
 * 64-step rows here: every 512-step block that ends at or below the 64-step
 * level's watermark (closed, so it holds all its points); readers take the
 * raw points from the 512-step watermark on, and a writer that resumes the
 * series repairs the rest from it (closing-blocks.ts). The statement is
 * this migration's own, not the writer's: a released migration must not
 * change when the writer's statements do.
 */
export function seriesBlocks512Migration(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      // Floor division that also holds for negative steps in both engines.
      const start = sql`(c.block_start - ((c.block_start % 512 + 512) % 512))`;
      const last = (column: string) =>
        sql`(select l.${sql.ref(column)} from series_blocks l where l.series_id = g.series_id
          and l.block_size = 64 and l.block_start = g.last_block)`;
      await sql`
        insert into series_blocks (series_id, block_size, block_start, first_step, last_step,
          point_count, nan_count, min_v, max_v, last_value, last_wall_ms)
        select g.series_id, 512, g.block_start, g.first_step, g.last_step, g.n, g.nans,
          g.min_v, g.max_v, ${last('last_value')}, ${last('last_wall_ms')}
        from (
          select c.series_id, ${start} as block_start, max(c.block_start) as last_block,
            min(c.first_step) as first_step, max(c.last_step) as last_step,
            sum(c.point_count) as n, sum(c.nan_count) as nans,
            min(c.min_v) as min_v, max(c.max_v) as max_v
          from series_blocks c where c.block_size = 64
          group by c.series_id, ${start}
        ) g
        where g.block_start + 512 <= (select max(w.block_start) + 64 from series_blocks w
          where w.series_id = g.series_id and w.block_size = 64)`.execute(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await sql`delete from series_blocks where block_size = 512`.execute(db);
    },
  };
}

import { decodeStored, reportDamaged } from './stored-message';
import {
  AlertSchema,
  AlertSettingsSchema,
  CommandAuditEntrySchema,
  ConfusionMatrixSchema,
  EpochDataSchema,
  ImageFrameSchema,
  PerformanceDataSchema,
  type Alert,
  type AlertRule,
  type AlertSettings,
  type CommandAuditEntry,
  type ConfusionMatrix,
  type EpochData,
  type ImageFrame,
  type PerformanceData,
  type SessionOrder,
  type SeriesKind,
} from '@trainwatch/proto';
import {
  PostgresAdapter,
  sql,
  type Expression,
  type ExpressionBuilder,
  type Kysely,
  type RawBuilder,
  type SqlBool,
} from 'kysely';
import { errors } from '../common/app-error';
import type { Database, ImageFramesTable } from './schema';
import { DamagedFrameError, segmentKey, type FrameFiles } from './frame-files';
import { selectColumns, type PackedColumns } from './packed-rows';
import {
  combineIntoBuckets,
  planBlocks,
  pointAggregate,
  type Aggregate,
  type BlockPlan,
} from './series-blocks';
import { orderOf, type ListPosition } from './session-order';
import type { SessionRow } from './stored-summary';

/** Why a frame stored in a segment file cannot be read by a server without FRAMES_DIR. */
const NO_FRAMES_FOLDER =
  'this server has no frames folder (PostgreSQL: set FRAMES_DIR to the folder that holds them)';

/** A run's watchdog settings as stored (webhook URLs whole). */
export interface StoredAlertSettings {
  settings: AlertSettings;
  operatorRules: AlertRule[];
  webhooksFromOperator: boolean;
}

/** What ListSessions filters on (ListSessionsRequest), plus the ids the caller answers from memory. */
export interface SessionFilter {
  statuses: readonly number[];
  /** Case-insensitive substring of id, name, model, dataset or a tag; '' for any. */
  text: string;
  /** Every one of these tags. */
  tags: readonly string[];
  /** Only these sessions; empty for any. */
  ids: readonly string[];
  /** Sessions left out (held in memory, listed from there). */
  excludeIds: readonly string[];
}

/** One point of a series. NaN is stored as NULL (see schema.ts). */
export interface StoredPoint {
  step: number;
  value: number;
  wallMs: number;
}

/** One bucket of a series window: its first step, min, max, last point and count. */
export interface StoredBucket {
  step: number;
  min: number;
  max: number;
  last: number;
  lastStep: number;
  lastWallMs: number;
  count: number;
}

/** The bucket a QuerySeries answer carries for an aggregate (a NaN anywhere in it makes its max NaN). */
export function storedBucket(aggregate: Aggregate): StoredBucket {
  return {
    step: aggregate.firstStep,
    min: aggregate.min,
    max: aggregate.nans > 0 ? Number.NaN : aggregate.max,
    last: aggregate.last,
    lastStep: aggregate.lastStep,
    lastWallMs: aggregate.lastWallMs,
    count: aggregate.count,
  };
}

/** A series over a window, as QuerySeries answers it. */
export interface StoredWindow {
  name: string;
  kind: SeriesKind;
  buckets: StoredBucket[];
  totalPoints: number;
  exact: boolean;
}

type SessionsBuilder = ExpressionBuilder<Database, 'sessions'>;

/** `text` as a LIKE pattern matching it anywhere, its wildcards escaped (with '\'). */
function containsPattern(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

const value = (stored: number | null): number => (stored === null ? Number.NaN : stored);

/** The columns of a bucket of whole blocks (BlockBucketRow's, packed on PostgreSQL). */
type BlockColumn = keyof BlockBucketRow;

/** A bucket of whole blocks as a window combines it: its step and aggregate. */
interface BlockPart {
  at: number;
  aggregate: Aggregate;
}

/** Packed block columns as parts (NULLs arrive as NaN, see packed-rows.ts). */
function blockParts(columns: PackedColumns<BlockColumn>): BlockPart[] {
  const parts: BlockPart[] = new Array<BlockPart>(columns.at.length);
  for (let row = 0; row < parts.length; row++) {
    parts[row] = {
      at: columns.at[row] as number,
      aggregate: {
        firstStep: columns.first_step[row] as number,
        lastStep: columns.last_step[row] as number,
        count: columns.n[row] as number,
        nans: columns.nans[row] as number,
        min: columns.min_v[row] as number,
        max: columns.max_v[row] as number,
        last: columns.last_value[row] as number,
        lastWallMs: columns.last_wall_ms[row] as number,
      },
    };
  }
  return parts;
}

/** A bucket of whole blocks as SQLite reads it from series_blocks, placed at step `at`. */
interface BlockBucketRow {
  at: number;
  first_step: number;
  last_step: number;
  n: number;
  nans: number;
  min_v: number | null;
  max_v: number | null;
  last_value: number | null;
  last_wall_ms: number;
}

/**
 * Every query that reads the store: one set for SQLite and PostgreSQL
 * (Kysely, plus `sql` fragments both engines parse the same way), except
 * that PostgreSQL answers the blocks and points of a series window packed
 * in one value (packed-rows.ts). Series windows are bucketed in the
 * database, so a 1,000,000-point series is never carried into JavaScript.
 */
export class StoreReads {
  /** Insertion order of the points table (never updated): which of a step logged twice was stored last. */
  private readonly stored: RawBuilder<unknown>;
  /** PostgreSQL (series windows read packed, packed-rows.ts) rather than SQLite. */
  private readonly postgres: boolean;

  constructor(
    private readonly db: Kysely<Database>,
    /** Where frames stored in segment files are (SQLite; frame-files.ts). */
    private readonly frameFiles?: FrameFiles,
  ) {
    this.postgres = db.getExecutor().adapter instanceof PostgresAdapter;
    this.stored = sql.raw(this.postgres ? 'ctid' : 'rowid');
  }

  /** The order key expression of `order` (see session-order.ts: displayKey for names). */
  private orderKey(order: SessionOrder): Expression<number | string> {
    switch (orderOf(order).key) {
      case 'created':
        return sql<number>`created_at_ms`;
      case 'updated':
        return sql<number>`last_update_ms`;
      case 'name':
        return sql<string>`lower(case when name = '' then id else name end)`;
    }
  }

  private where(eb: SessionsBuilder, filter: SessionFilter): Expression<SqlBool> {
    const conditions: Expression<SqlBool>[] = [];
    if (filter.statuses.length > 0) conditions.push(eb('status', 'in', [...filter.statuses]));
    if (filter.excludeIds.length > 0) conditions.push(eb('id', 'not in', [...filter.excludeIds]));
    if (filter.ids.length > 0) conditions.push(eb('id', 'in', [...filter.ids]));
    if (filter.text !== '') {
      const pattern = containsPattern(filter.text);
      const like = (column: string) =>
        sql<SqlBool>`lower(${sql.ref(column)}) like ${pattern} escape '\\'`;
      conditions.push(
        eb.or([
          like('sessions.id'),
          like('sessions.name'),
          like('sessions.model_name'),
          like('sessions.dataset_name'),
          eb.exists(
            eb
              .selectFrom('session_tags')
              .select(sql`1`.as('one'))
              .whereRef('session_tags.session_id', '=', 'sessions.id')
              .where(sql<SqlBool>`lower(session_tags.tag) like ${pattern} escape '\\'`),
          ),
        ]),
      );
    }
    for (const tag of filter.tags) {
      conditions.push(
        eb.exists(
          eb
            .selectFrom('session_tags')
            .select(sql`1`.as('one'))
            .whereRef('session_tags.session_id', '=', 'sessions.id')
            .where('session_tags.tag', '=', tag),
        ),
      );
    }
    return eb.and(conditions);
  }

  /** At most `limit` stored runs matching `filter`, in `order`, after `after`. */
  async listSessions(
    filter: SessionFilter,
    order: SessionOrder,
    after: ListPosition | undefined,
    limit: number,
  ): Promise<SessionRow[]> {
    const { descending } = orderOf(order);
    const key = this.orderKey(order);
    const direction = descending ? 'desc' : 'asc';
    let query = this.db
      .selectFrom('sessions')
      .selectAll()
      .where((eb) => this.where(eb, filter));
    if (after !== undefined) {
      const beyond = descending ? sql.raw('<') : sql.raw('>');
      query = query.where(
        sql<SqlBool>`(${key} ${beyond} ${after.key} or (${key} = ${after.key} and id ${beyond} ${after.id}))`,
      );
    }
    return query.orderBy(key, direction).orderBy('id', direction).limit(limit).execute();
  }

  async countSessions(filter: SessionFilter): Promise<number> {
    const row = await this.db
      .selectFrom('sessions')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .where((eb) => this.where(eb, filter))
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  async session(id: string): Promise<SessionRow | undefined> {
    return this.db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** The rows of these ids (a page's live sessions, for what only the store counts: stored frames). */
  async sessions(ids: readonly string[]): Promise<SessionRow[]> {
    if (ids.length === 0) return [];
    return this.db
      .selectFrom('sessions')
      .selectAll()
      .where('id', 'in', [...ids])
      .execute();
  }

  /** The newest `limit` epoch summaries, oldest first. */
  async epochs(sessionId: string, limit: number): Promise<EpochData[]> {
    const rows = await this.db
      .selectFrom('epochs')
      .select('data')
      .where('session_id', '=', sessionId)
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
    return defined(
      rows
        .reverse()
        .map((row) => decodeStored(EpochDataSchema, row.data, `an epoch of ${sessionId}`)),
    );
  }

  /** The whole confusion matrix of an epoch (the latest epoch with one when `epoch` is undefined). */
  async confusionMatrix(
    sessionId: string,
    epoch: number | undefined,
  ): Promise<ConfusionMatrix | undefined> {
    let query = this.db
      .selectFrom('confusion_matrices')
      .select('matrix')
      .where('session_id', '=', sessionId);
    query =
      epoch === undefined
        ? query.orderBy('epoch', 'desc').limit(1)
        : query.where('epoch', '=', epoch);
    const row = await query.executeTakeFirst();
    return row === undefined
      ? undefined
      : decodeStored(ConfusionMatrixSchema, row.matrix, `a confusion matrix of ${sessionId}`);
  }

  /** The newest `limit` matrices of a run, oldest first. */
  async confusionMatrices(sessionId: string, limit: number): Promise<ConfusionMatrix[]> {
    const rows = await this.db
      .selectFrom('confusion_matrices')
      .select('matrix')
      .where('session_id', '=', sessionId)
      .orderBy('epoch', 'desc')
      .limit(limit)
      .execute();
    return defined(
      rows
        .reverse()
        .map((row) =>
          decodeStored(ConfusionMatrixSchema, row.matrix, `a confusion matrix of ${sessionId}`),
        ),
    );
  }

  /** The newest `limit` epochs of a run with a confusion matrix, ascending. */
  async confusionEpochs(sessionId: string, limit: number): Promise<number[]> {
    const rows = await this.db
      .selectFrom('confusion_matrices')
      .select('epoch')
      .where('session_id', '=', sessionId)
      .orderBy('epoch', 'desc')
      .limit(limit)
      .execute();
    return rows.map((row) => Number(row.epoch)).reverse();
  }

  /** The newest `limit` audit entries, oldest first. */
  async commands(sessionId: string, limit: number): Promise<CommandAuditEntry[]> {
    const rows = await this.db
      .selectFrom('commands')
      .select('entry')
      .where('session_id', '=', sessionId)
      .orderBy('issued_at_ms', 'desc')
      .orderBy('command_id', 'desc')
      .limit(limit)
      .execute();
    return defined(
      rows
        .reverse()
        .map((row) =>
          decodeStored(CommandAuditEntrySchema, row.entry, `a command log entry of ${sessionId}`),
        ),
    );
  }

  /** The newest `limit` alerts of a run, oldest first. */
  async alerts(sessionId: string, limit: number): Promise<Alert[]> {
    const rows = await this.db
      .selectFrom('alerts')
      .select('alert')
      .where('session_id', '=', sessionId)
      .orderBy('first_at_ms', 'desc')
      .orderBy('alert_id', 'desc')
      .limit(limit)
      .execute();
    return defined(
      rows.reverse().map((row) => decodeStored(AlertSchema, row.alert, `an alert of ${sessionId}`)),
    );
  }

  /** A run's stored alert settings; undefined when they were never written. */
  async alertSettings(sessionId: string): Promise<StoredAlertSettings | undefined> {
    const row = await this.db
      .selectFrom('alert_settings')
      .selectAll()
      .where('session_id', '=', sessionId)
      .executeTakeFirst();
    if (row === undefined) return undefined;
    const what = `the alert settings of ${sessionId}`;
    const settings = decodeStored(AlertSettingsSchema, row.settings, what);
    const operator = decodeStored(AlertSettingsSchema, row.operator_rules, what);
    // Damaged: as if never written (the defaults apply).
    if (settings === undefined || operator === undefined) return undefined;
    return {
      settings,
      operatorRules: operator.rules,
      webhooksFromOperator: row.webhooks_from_operator !== 0,
    };
  }

  async latestPerformance(sessionId: string): Promise<PerformanceData | undefined> {
    const row = await this.db
      .selectFrom('performance')
      .select('data')
      .where('session_id', '=', sessionId)
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row === undefined
      ? undefined
      : decodeStored(PerformanceDataSchema, row.data, `a performance record of ${sessionId}`);
  }

  async latestFrame(sessionId: string): Promise<ImageFrame | undefined> {
    const row = await this.db
      .selectFrom('image_frames')
      .select(FRAME_COLUMNS)
      .where('session_id', '=', sessionId)
      .orderBy('step', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (row === undefined) return undefined;
    if (
      this.frameFiles === undefined &&
      row.file_segment !== null &&
      row.file_segment !== undefined
    ) {
      // The run's watch opens without its latest picture rather than not at all (its charts are
      // what most of the page is); GetImageFrames tells the client what to set.
      reportDamaged(
        `the latest image frame of ${sessionId} is in a segment file, and ${NO_FRAMES_FOLDER}`,
      );
      return undefined;
    }
    return this.frameOf(sessionId, row);
  }

  /**
   * A stored frame, from its row or its segment file; undefined when its
   * segment file is gone (a backup copied after the segment was deleted) or
   * the frame is damaged (its file cut short, bytes that do not decode):
   * one lost frame leaves a run's other frames readable, and the log names
   * the frame (stored-message.ts).
   */
  private async frameOf(sessionId: string, row: FrameRowRead): Promise<ImageFrame | undefined> {
    if (row.file_segment === null || row.file_segment === undefined) {
      return decodeStored(ImageFrameSchema, row.frame, `a stored image frame of ${sessionId}`);
    }
    if (this.frameFiles === undefined) {
      // A setting to fix, not a bug: the client is told why (an Error would reach it as INTERNAL).
      throw errors.failedPrecondition(
        `the image frames of ${sessionId} are in segment files, and ${NO_FRAMES_FOLDER}`,
      );
    }
    try {
      const bytes = await this.frameFiles.read(
        sessionId,
        segmentKey(
          row.file_writer === null ? null : Number(row.file_writer),
          Number(row.file_segment),
        ),
        Number(row.file_offset),
        Number(row.bytes),
      );
      return decodeStored(
        ImageFrameSchema,
        bytes,
        `the image frame of ${sessionId} at offset ${String(row.file_offset)} of ${this.frameFiles.segmentPath(sessionId, segmentKey(row.file_writer === null ? null : Number(row.file_writer), Number(row.file_segment)))}`,
      );
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      if (error instanceof DamagedFrameError) {
        reportDamaged(error.message);
        return undefined;
      }
      throw error;
    }
  }

  /** The run's series (name, kind, id), by name. */
  async seriesOf(
    sessionId: string,
    names: readonly string[] = [],
  ): Promise<{ id: number; name: string; kind: SeriesKind }[]> {
    let query = this.db
      .selectFrom('series')
      .select(['id', 'name', 'kind'])
      .where('session_id', '=', sessionId);
    if (names.length > 0) query = query.where('name', 'in', [...names]);
    const rows = await query.orderBy('name').orderBy('kind').execute();
    return rows.map((row) => ({
      id: Number(row.id),
      name: row.name,
      kind: row.kind as SeriesKind,
    }));
  }

  /**
   * One series over [fromStep, toStep] (toStep undefined: to its last
   * point) in at most `maxPoints` buckets of equal step width, computed by
   * the database in one pass over the (series_id, step) index. When the
   * window holds at most `maxPoints` points, every point is its own bucket
   * (exact). A NaN makes its bucket's maximum NaN, so a diverging run's
   * spike survives; a bucket of NaNs only has NaN as its minimum too.
   */
  async seriesWindow(
    series: { id: number; name: string; kind: SeriesKind },
    fromStep: number,
    toStep: number | undefined,
    maxPoints: number,
  ): Promise<StoredWindow> {
    const window = { name: series.name, kind: series.kind };
    // Each of these is one index probe, not a scan.
    const bounds = await sql<{ first: number | null; last: number | null }>`
      select
        (select min(step) from points where series_id = ${series.id} and step >= ${fromStep}
          ${toStep === undefined ? sql`` : sql`and step <= ${toStep}`}) as first,
        (select max(step) from points where series_id = ${series.id} and step >= ${fromStep}
          ${toStep === undefined ? sql`` : sql`and step <= ${toStep}`}) as last`.execute(this.db);
    const first = bounds.rows[0]?.first;
    const last = bounds.rows[0]?.last;
    if (first === null || first === undefined || last === null || last === undefined) {
      return { ...window, buckets: [], totalPoints: 0, exact: true };
    }
    const span = Number(last) - Number(first) + 1;
    const plan = planBlocks(Number(first), Number(last), maxPoints);
    if (plan !== undefined) {
      const fromBlocks = await this.blockWindow(
        series.id,
        plan,
        fromStep,
        Number(first),
        Number(last),
        toStep,
        maxPoints,
      );
      if (fromBlocks !== undefined) return { ...window, ...fromBlocks };
      // Few points after all (sparse steps): exact.
      const exact = await this.points(series.id, Number(first), Number(last), maxPoints);
      return { ...window, ...exactWindow(exact) };
    }
    if (span <= maxPoints) {
      const exact = await this.points(series.id, Number(first), Number(last), maxPoints + 1);
      if (exact.length <= maxPoints) return { ...window, ...exactWindow(exact) };
    }
    const grouped = await sql<{
      b: number;
      n: number;
      first_step: number;
      last_step: number;
      min_v: number | null;
      max_v: number | null;
      nans: number;
    }>`
      select b, count(*) as n, min(step) as first_step, max(step) as last_step,
        min(value) as min_v, max(value) as max_v,
        sum(case when value is null then 1 else 0 end) as nans
      from (
        -- Integer arithmetic in both engines (SQLite binds JS numbers as REAL).
        select (step - cast(${Number(first)} as bigint)) * cast(${maxPoints} as bigint)
          / cast(${span} as bigint) as b, step, value
        from points where series_id = ${series.id} and step >= ${Number(first)} and step <= ${Number(last)}
      ) w
      group by b order by b`.execute(this.db);
    const rows = grouped.rows;
    const totalPoints = rows.reduce((sum, row) => sum + Number(row.n), 0);
    if (totalPoints <= maxPoints) {
      // Sparse steps: few points over a wide window, exact after all.
      const exact = await this.points(series.id, Number(first), Number(last), maxPoints);
      return { ...window, ...exactWindow(exact) };
    }
    const lasts = await this.pointsAt(
      series.id,
      rows.map((row) => Number(row.last_step)),
    );
    const buckets = rows.map((row): StoredBucket => {
      const lastStep = Number(row.last_step);
      const end = lasts.get(lastStep);
      const nans = Number(row.nans);
      return {
        step: Number(row.first_step),
        min: value(row.min_v),
        max: nans > 0 ? Number.NaN : value(row.max_v),
        last: end?.value ?? Number.NaN,
        lastStep,
        lastWallMs: end?.wallMs ?? 0,
        count: Number(row.n),
      };
    });
    return { ...window, buckets, totalPoints, exact: false };
  }

  /**
   * A long window from the series blocks (see series-blocks.ts): whole
   * blocks, plus the raw points of an edge block the window cuts and of
   * the steps past the level's watermark (blocks are written when they
   * close, see closing-blocks.ts: the open block, and after a crash any
   * block not yet repaired, have no trusted row). Undefined when the window
   * holds no more than maxPoints points (answer it exactly).
   */
  private async blockWindow(
    seriesId: number,
    plan: BlockPlan,
    fromStep: number,
    first: number,
    last: number,
    toStep: number | undefined,
    maxPoints: number,
  ): Promise<Pick<StoredWindow, 'buckets' | 'totalPoints' | 'exact'> | undefined> {
    const size = plan.size;
    const firstBlock = plan.base;
    const lastBlock = Math.floor(last / size) * size;
    // Edge blocks the window cuts are read from the raw points (at most
    // `size` steps each): a first block that starts before fromStep may hold
    // points before the window, a last block that ends past toStep points
    // after it. Decided from the steps alone, so the reads below need no
    // statement before them (a block not cut after all is read from its
    // points, which gives the same answer).
    const cutFirst = fromStep > firstBlock;
    const cutLast = toStep !== undefined && toStep < lastBlock + size - 1;
    const lo = cutFirst ? firstBlock + size : firstBlock;
    const hi = cutLast ? lastBlock - size : lastBlock;
    // Three independent reads: on PostgreSQL each takes a connection of its own and they run at once.
    const [head, blocks, rest] = await Promise.all([
      cutFirst
        ? this.points(
            seriesId,
            first,
            Math.min(firstBlock + size - 1, last),
            Number.MAX_SAFE_INTEGER,
          )
        : [],
      // Stored rows of a level are all below its watermark (its last stored
      // block_start + size): blocks are written when they close, see
      // closing-blocks.ts. So the whole blocks are the stored rows in [lo, hi].
      lo <= hi ? this.wholeBlocks(seriesId, plan, lo, hi) : [],
      // The rest from the points: a cut last block, and the steps from the
      // level's watermark on (the open block, and after a crash any block not
      // yet repaired, have no row), the watermark found by the same statement.
      Math.max(lo, first) <= last
        ? this.points(seriesId, Math.max(lo, first), last, Number.MAX_SAFE_INTEGER, {
            size,
            end: hi + size,
          })
        : [],
    ]);
    const parts: { at: number; aggregate: Aggregate }[] = [];
    const addPoints = (points: readonly StoredPoint[]) => {
      for (const point of points) {
        parts.push({
          at: point.step,
          aggregate: pointAggregate(point.step, point.value, point.wallMs),
        });
      }
    };
    addPoints(head);
    for (const block of blocks) parts.push(block);
    addPoints(rest);
    const totalPoints = parts.reduce((sum, part) => sum + part.aggregate.count, 0);
    if (totalPoints <= maxPoints) return undefined;
    const buckets = combineIntoBuckets(plan, parts).map(storedBucket);
    return { buckets, totalPoints, exact: false };
  }

  /**
   * The plan's buckets over the whole blocks [lo, hi], each with the step
   * it is placed at. One block per bucket (the usual case, see planBlocks):
   * the rows as they are. Otherwise grouped into buckets in SQL (a few
   * thousand rows scanned, at most maxPoints returned), each bucket's last
   * point its last block's, looked up by key (a join made SQLite scan the
   * blocks per bucket). Integer arithmetic in both engines.
   */
  private async wholeBlocks(
    seriesId: number,
    plan: BlockPlan,
    lo: number,
    hi: number,
  ): Promise<BlockPart[]> {
    if (this.postgres) return blockParts(await this.wholeBlocksPacked(seriesId, plan, lo, hi));
    return (await this.wholeBlockRows(seriesId, plan, lo, hi)).map((row) => ({
      at: Number(row.at),
      aggregate: {
        firstStep: Number(row.first_step),
        lastStep: Number(row.last_step),
        count: Number(row.n),
        nans: Number(row.nans),
        min: value(row.min_v),
        max: value(row.max_v),
        last: value(row.last_value),
        lastWallMs: Number(row.last_wall_ms),
      },
    }));
  }

  /** wholeBlocks on SQLite: rows. */
  private async wholeBlockRows(
    seriesId: number,
    plan: BlockPlan,
    lo: number,
    hi: number,
  ): Promise<BlockBucketRow[]> {
    const size = plan.size;
    if (plan.width === size) {
      const rows = await sql<BlockBucketRow>`
        select block_start as at, first_step, last_step, point_count as n, nan_count as nans,
          min_v, max_v, last_value, last_wall_ms
        from series_blocks
        where series_id = ${seriesId} and block_size = ${size}
          and block_start >= ${lo} and block_start <= ${hi}
        order by block_start`.execute(this.db);
      return rows.rows;
    }
    const grouped = await sql<BlockBucketRow>`
      select cast(${plan.base} as bigint) + g.b * cast(${plan.width} as bigint) as at,
        g.first_step, g.last_step, g.n, g.nans, g.min_v, g.max_v,
        (select l.last_value from series_blocks l where l.series_id = ${seriesId}
          and l.block_size = ${size} and l.block_start = g.last_block) as last_value,
        (select l.last_wall_ms from series_blocks l where l.series_id = ${seriesId}
          and l.block_size = ${size} and l.block_start = g.last_block) as last_wall_ms
      from (
        select (block_start - cast(${plan.base} as bigint)) / cast(${plan.width} as bigint) as b,
          max(block_start) as last_block, min(first_step) as first_step,
          max(last_step) as last_step, sum(point_count) as n, sum(nan_count) as nans,
          min(min_v) as min_v, max(max_v) as max_v
        from series_blocks
        where series_id = ${seriesId} and block_size = ${size}
          and block_start >= ${lo} and block_start <= ${hi}
        group by 1
      ) g
      order by g.b`.execute(this.db);
    return grouped.rows;
  }

  /**
   * wholeBlocks on PostgreSQL: the same buckets packed, a bytea per column
   * (packed-rows.ts). A bucket of several blocks takes its last point from
   * the greatest [block_start, last_value, last_wall_ms] of the bucket
   * (block starts are unique, so only they are compared), in the same pass
   * as the other aggregates, instead of two key lookups per bucket.
   */
  private async wholeBlocksPacked(
    seriesId: number,
    plan: BlockPlan,
    lo: number,
    hi: number,
  ): Promise<PackedColumns<BlockColumn>> {
    const size = plan.size;
    const blocks = sql`series_blocks where series_id = ${seriesId} and block_size = ${size}
      and block_start >= ${lo} and block_start <= ${hi}`;
    if (plan.width === size) {
      return selectColumns(
        this.db,
        [
          ['at', sql`block_start`],
          ['first_step', sql`first_step`],
          ['last_step', sql`last_step`],
          ['n', sql`point_count`],
          ['nans', sql`nan_count`],
          ['min_v', sql`min_v`],
          ['max_v', sql`max_v`],
          ['last_value', sql`last_value`],
          ['last_wall_ms', sql`last_wall_ms`],
        ],
        sql`(select * from ${blocks} order by block_start) blocks`,
      );
    }
    return selectColumns(
      this.db,
      [
        ['at', sql`cast(${plan.base} as bigint) + g.b * cast(${plan.width} as bigint)`],
        ['first_step', sql`g.first_step`],
        ['last_step', sql`g.last_step`],
        ['n', sql`g.n`],
        ['nans', sql`g.nans`],
        ['min_v', sql`g.min_v`],
        ['max_v', sql`g.max_v`],
        ['last_value', sql`g.tail[2]`],
        ['last_wall_ms', sql`g.tail[3]`],
      ],
      sql`(
        select (block_start - cast(${plan.base} as bigint)) / cast(${plan.width} as bigint) as b,
          min(first_step) as first_step, max(last_step) as last_step,
          sum(point_count) as n, sum(nan_count) as nans, min(min_v) as min_v, max(max_v) as max_v,
          max(array[block_start::float8, coalesce(last_value, 'NaN'), last_wall_ms::float8]) as tail
        from ${blocks}
        group by 1
        order by 1
      ) g`,
    );
  }

  /**
   * The points of a series in [fromStep, toStep], at most `limit`. With
   * `past`, only those at or past min(past.end, the watermark of the
   * past.size blocks): the steps no trusted block of that size covers.
   */
  private async points(
    seriesId: number,
    fromStep: number,
    toStep: number,
    limit: number,
    past?: { size: number; end: number },
  ): Promise<StoredPoint[]> {
    // The lower bound as one expression: with two (fromStep and the
    // watermark's) SQLite bounded its index range by one and filtered the
    // rest, scanning every point of the series from fromStep on.
    const from =
      past === undefined
        ? sql<number>`${fromStep}`
        : sql<number>`(select case
            when max(block_start) is null then cast(${fromStep} as bigint)
            when max(block_start) + ${past.size} >= ${past.end}
              then cast(${Math.max(fromStep, past.end)} as bigint)
            when max(block_start) + ${past.size} > ${fromStep} then max(block_start) + ${past.size}
            else cast(${fromStep} as bigint) end
          from series_blocks where series_id = ${seriesId} and block_size = ${past.size})`;
    if (this.postgres) {
      // A packed value per column instead of a row per point (packed-rows.ts).
      const packed = await selectColumns(
        this.db,
        [
          ['step', sql`step`],
          ['value', sql`value`],
          ['wall_ms', sql`wall_ms`],
        ],
        sql`(
          select step, value, wall_ms from points
          where series_id = ${seriesId} and step >= ${from} and step <= ${toStep}
          order by step, ctid
          limit ${limit}
        ) p`,
      );
      return Array.from(packed.step, (step, index) => ({
        step,
        value: packed.value[index] as number,
        wallMs: packed.wall_ms[index] as number,
      }));
    }
    const query = this.db
      .selectFrom('points')
      .select(['step', 'value', 'wall_ms'])
      .where('series_id', '=', seriesId)
      .where('step', '>=', from)
      .where('step', '<=', toStep);
    const rows = await query.orderBy('step').orderBy(this.stored).limit(limit).execute();
    return rows.map((row) => ({
      step: Number(row.step),
      value: value(row.value),
      wallMs: Number(row.wall_ms),
    }));
  }

  /** The point at each of these steps (the last one stored when a step was logged twice). */
  private async pointsAt(seriesId: number, steps: number[]): Promise<Map<number, StoredPoint>> {
    const found = new Map<number, StoredPoint>();
    // Chunks stay far below both engines' limits on bound parameters.
    for (let start = 0; start < steps.length; start += 5000) {
      const rows = await this.db
        .selectFrom('points')
        .select(['step', 'value', 'wall_ms'])
        .where('series_id', '=', seriesId)
        .where('step', 'in', steps.slice(start, start + 5000))
        .orderBy(this.stored)
        .execute();
      for (const row of rows) {
        found.set(Number(row.step), {
          step: Number(row.step),
          value: value(row.value),
          wallMs: Number(row.wall_ms),
        });
      }
    }
    return found;
  }

  /** Steps of the stored frames in [fromStep, toStep], at most `limit`, evenly spread when there are more. */
  async frameSteps(
    sessionId: string,
    fromStep: number,
    toStep: number | undefined,
    limit: number,
  ): Promise<number[]> {
    let counted = this.db
      .selectFrom('image_frames')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .where('session_id', '=', sessionId)
      .where('step', '>=', fromStep);
    if (toStep !== undefined) counted = counted.where('step', '<=', toStep);
    const count = Number((await counted.executeTakeFirstOrThrow()).count);
    const every = Math.max(1, Math.ceil(count / limit));
    const rows = await sql<{ step: number }>`
      select step from (
        select step, row_number() over (order by step) as rn from image_frames
        where session_id = ${sessionId} and step >= ${fromStep}
          ${toStep === undefined ? sql`` : sql`and step <= ${toStep}`}
      ) numbered where (rn - 1) % ${every} = 0 order by step`.execute(this.db);
    return rows.rows.map((row) => Number(row.step)).slice(0, limit);
  }

  /**
   * Steps and sizes of up to `limit` frames in the window: nearest to
   * `aroundStep` first when it is given, else from the start of the window.
   * Sizes first, so the caller fetches only the frames that fit a response.
   */
  async frameSizes(
    sessionId: string,
    fromStep: number,
    toStep: number | undefined,
    limit: number,
    aroundStep: number | undefined,
  ): Promise<{ step: number; bytes: number }[]> {
    let query = this.db
      .selectFrom('image_frames')
      .select(['step', 'bytes'])
      .where('session_id', '=', sessionId)
      .where('step', '>=', fromStep);
    if (toStep !== undefined) query = query.where('step', '<=', toStep);
    query =
      aroundStep === undefined
        ? query.orderBy('step')
        : query.orderBy(sql`abs(step - ${aroundStep})`).orderBy('step');
    const rows = await query.limit(limit).execute();
    return rows.map((row) => ({ step: Number(row.step), bytes: Number(row.bytes) }));
  }

  /** The frames at these steps, in step order. */
  async framesAt(sessionId: string, steps: readonly number[]): Promise<ImageFrame[]> {
    if (steps.length === 0) return [];
    const rows = await this.db
      .selectFrom('image_frames')
      .select(FRAME_COLUMNS)
      .where('session_id', '=', sessionId)
      .where('step', 'in', [...steps])
      .orderBy('step')
      .execute();
    const frames = await Promise.all(rows.map((row) => this.frameOf(sessionId, row)));
    return frames.filter((frame): frame is ImageFrame => frame !== undefined);
  }
}

/** What a frame read selects: the bytes, or where they are. */
const FRAME_COLUMNS = ['frame', 'bytes', 'file_segment', 'file_offset', 'file_writer'] as const;
type FrameRowRead = Pick<ImageFramesTable, (typeof FRAME_COLUMNS)[number]>;

/** The values that decoded (decodeStored leaves damaged ones undefined). */
function defined<T>(values: readonly (T | undefined)[]): T[] {
  return values.filter((value): value is T => value !== undefined);
}

function exactWindow(
  points: StoredPoint[],
): Pick<StoredWindow, 'buckets' | 'totalPoints' | 'exact'> {
  return {
    buckets: points.map((point) => ({
      step: point.step,
      min: point.value,
      max: point.value,
      last: point.value,
      lastStep: point.step,
      lastWallMs: point.wallMs,
      count: 1,
    })),
    totalPoints: points.length,
    exact: true,
  };
}

import { create, toBinary } from '@bufbuild/protobuf';
import {
  AlertSettingsSchema,
  RunMetadataSchema,
  TrainingConfigSchema,
  type RunMetadata,
  type TrainingConfig,
} from '@trainwatch/proto';
import type { Insertable, Kysely, Transaction } from 'kysely';
import type { OpenDatabase } from './open-database';
import type { FileFrameRow, FrameJob } from './frame-job';
import {
  RunSegments,
  SegmentChanges,
  segmentColumns,
  segmentKey,
  type FrameFiles,
} from './frame-files';
import { RawInsert } from './raw-insert';
import { StatementRecorder } from './recording-dialect';
import { RawStatements, rowPlaceholders } from './raw-statement';
import type { Session } from '../sessions/session';
import type { RetentionPolicy } from './image-retention';
import { planRetention, RunFrames, type RetentionPlan } from './retention-plan';
import { asBuffer, type PendingFrame, type PendingWrites } from './pending-writes';
import type { Database, SessionsTable } from './schema';
import {
  OpenBlocks,
  planClosing,
  storedThrough,
  writeClosingBlocks,
  type ClosingPlan,
} from './closing-blocks';
import { toStoredValue } from './series-value';

/**
 * Bound parameters per statement: under SQLite's 32,766 and PostgreSQL's
 * 65,535, so one multi-row INSERT serves both engines.
 */
export const MAX_PARAMETERS_PER_STATEMENT = 30_000;
/** Blob bytes per multi-row INSERT of image frames, to keep each statement a few MB. */
export const MAX_BLOB_BYTES_PER_STATEMENT = 8 * 1024 * 1024;
/** Series ids the writer remembers; past it the cache starts over (ids are looked up again). */
export const MAX_CACHED_SERIES_IDS = 100_000;

/**
 * What the writer remembers between commits, so a commit needs no reads:
 * series ids, each run's stored frames (for the retention policy), and
 * which config and metadata objects were last written. Changed only after a
 * commit succeeded (a rolled-back commit leaves it as it was).
 */
export class WriterState {
  readonly pointInsert: RawInsert;
  readonly frameInsert: RawInsert;
  /** Rows of frames whose bytes are in segment files (frame-files.ts). */
  readonly fileFrameInsert: RawInsert;
  readonly sessionUpsert: RawInsert;
  readonly epochInsert: RawInsert;
  readonly performanceInsert: RawInsert;
  readonly statusInsert: RawInsert;
  readonly confusionUpsert: RawInsert;
  readonly statements: RawStatements;
  /** Builds a commit's statements for the SQLite write thread. */
  readonly recorder = new StatementRecorder();
  /** PostgreSQL: every statement is a round trip, so per-run statements are sent as one. */
  readonly postgres: boolean;
  readonly seriesIds = new Map<string, number>();
  /** Each written series' open block (closing-blocks.ts), bounded with seriesIds. */
  readonly openBlocks = new OpenBlocks();
  readonly frames = new Map<string, RunFrames>();
  /**
   * SQLite with a write thread, or PostgreSQL with FRAMES_DIR: frames go to
   * segment files (frame-files.ts), each run's segments remembered here
   * beside its frames.
   */
  readonly frameFiles: FrameFiles | undefined;
  readonly segments = new Map<string, RunSegments>();
  readonly written = new WeakMap<Session, { config?: TrainingConfig; metadata?: RunMetadata }>();

  constructor(open: OpenDatabase) {
    this.statements = new RawStatements(open);
    this.postgres = open.engine === 'postgres';
    this.frameFiles =
      open.writeThread !== undefined || open.engine === 'postgres' ? open.frameFiles : undefined;
    this.sessionUpsert = new RawInsert(
      open,
      `insert into sessions (${SESSION_INSERT_COLUMNS.join(', ')})`,
      SESSION_INSERT_COLUMNS.length,
      `on conflict (id) do update set ${UPDATED_SESSION_COLUMNS.map((column) => `${column} = excluded.${column}`).join(', ')}`,
    );
    this.epochInsert = new RawInsert(
      open,
      'insert into epochs (session_id, epoch, at_ms, data)',
      4,
    );
    this.performanceInsert = new RawInsert(
      open,
      'insert into performance (session_id, at_ms, data)',
      3,
    );
    this.statusInsert = new RawInsert(
      open,
      'insert into status_events (session_id, at_ms, status, connection, message, event)',
      6,
    );
    this.confusionUpsert = new RawInsert(
      open,
      'insert into confusion_matrices (session_id, epoch, predictions, matrix)',
      4,
      'on conflict (session_id, epoch) do update set predictions = excluded.predictions, matrix = excluded.matrix',
    );
    this.pointInsert = new RawInsert(
      open,
      'insert into points (series_id, step, value, wall_ms)',
      4,
    );
    this.frameInsert = new RawInsert(
      open,
      'insert into image_frames (session_id, step, epoch, batch_idx, timestamp_ms, bytes, frame)',
      7,
      'on conflict (session_id, step) do update set epoch = excluded.epoch, batch_idx = excluded.batch_idx, timestamp_ms = excluded.timestamp_ms, bytes = excluded.bytes, frame = excluded.frame, file_segment = null, file_offset = null, file_writer = null',
    );
    this.fileFrameInsert = new RawInsert(
      open,
      'insert into image_frames (session_id, step, epoch, batch_idx, timestamp_ms, bytes, frame, file_segment, file_offset, file_writer)',
      10,
      'on conflict (session_id, step) do update set epoch = excluded.epoch, batch_idx = excluded.batch_idx, timestamp_ms = excluded.timestamp_ms, bytes = excluded.bytes, frame = excluded.frame, file_segment = excluded.file_segment, file_offset = excluded.file_offset, file_writer = excluded.file_writer',
    );
  }

  forget(sessionId: string): void {
    this.frames.delete(sessionId);
    this.segments.delete(sessionId);
    const prefix = `${sessionId}\u0000`;
    for (const [key, id] of this.seriesIds) {
      if (!key.startsWith(prefix)) continue;
      this.seriesIds.delete(key);
      // A deleted run's series ids may be handed out again (SQLite reuses the largest rowid).
      this.openBlocks.delete(id);
    }
  }
}

export function seriesKey(sessionId: string, kind: number, name: string): string {
  return `${sessionId}\u0000${kind}\u0000${name}`;
}

/** Changes to WriterState that take effect once the commit succeeded. */
interface StagedState {
  seriesIds: Map<string, number>;
  /** Each run's frames and the plan to apply to them (and to its segment files). */
  frames: Map<string, { run: RunFrames; plan: RetentionPlan; segments?: SegmentChanges }>;
  written: { session: Session; config?: TrainingConfig; metadata?: RunMetadata }[];
  /** The blocks this commit closes, and each series' open block after it. */
  closing?: ClosingPlan;
  /** Newest stored step of the series this writer has not written yet (closing-blocks.ts). */
  storedThrough: Map<number, number>;
}

/**
 * Writes one batch in one transaction: multi-row statements only, chunked
 * to the engines' parameter limit; one extra query only for series or runs
 * the writer has not seen yet.
 */
export async function writeFlush(
  open: OpenDatabase,
  batch: PendingWrites,
  state: WriterState,
  retention: RetentionPolicy,
): Promise<void> {
  // The session rows are taken now, before any await: everything applied up to this instant is in `batch`.
  const rows: CommitRows = {
    sessions: sessionRows(batch),
    matrices: confusionRows(batch),
    settings: alertSettingsRows(batch),
  };
  const staged: StagedState = {
    seriesIds: new Map(),
    frames: new Map(),
    written: [],
    storedThrough: new Map(),
  };
  try {
    await writeTransaction(open, batch, state, staged, rows, retention);
  } catch (error) {
    // The series this commit planned have open blocks past points that are not stored.
    if (staged.closing !== undefined) state.openBlocks.forget(staged.closing);
    throw error;
  }
  applyStaged(state, staged);
}

/** The commit's transaction (and its frames'), by engine and write path. */
async function writeTransaction(
  open: OpenDatabase,
  batch: PendingWrites,
  state: WriterState,
  staged: StagedState,
  rows: CommitRows,
  retention: RetentionPolicy,
): Promise<void> {
  const writeThread = open.writeThread;
  const postgresFrames = open.postgresFrameWriter;
  if (writeThread !== undefined) {
    // Reads first, on the main connection (the thread's statements are only recorded here).
    await findSeriesIds(open.db, batch, state, staged);
    const frames = await planFrames(open.db, batch, state, staged, retention);
    const statements = await state.recorder.record(async (trx) => {
      await writeRows(trx, batch, state, staged, rows);
      await writeFrameJob(trx, state, frames);
    });
    await writeThread.run(statements, frames.files);
  } else if (state.postgres && state.frameFiles !== undefined) {
    // PostgreSQL with FRAMES_DIR: the frames go to segment files while the transaction runs.
    const job = await planFrames(open.db, batch, state, staged, retention);
    const filesWritten = state.frameFiles.append(job.files);
    // Awaited in the transaction, or below when it fails first: never an unhandled rejection.
    filesWritten.catch(() => undefined);
    const main = open.db.transaction().execute(async (trx) => {
      await findSeriesIds(trx, batch, state, staged);
      await writeRows(trx, batch, state, staged, rows);
      await writeFrameJob(trx, state, job);
      // The rows naming the frames commit only once their bytes are in the files.
      await filesWritten;
    });
    await main.catch(async (error: unknown) => {
      // A retry appends the same bytes at the same offsets: not while this attempt's writes run.
      await filesWritten.catch(() => undefined);
      throw error;
    });
  } else if (postgresFrames !== undefined) {
    const job = await planFrames(open.db, batch, state, staged, retention);
    /** The frame transaction running beside the main one, which commits only after it. */
    let framesCommitted: Promise<void> | undefined;
    if (job.inserts.length + job.deletes.length > 0) {
      framesCommitted = postgresFrames.write(job);
      // Awaited in the main transaction, or below when it fails first: never an unhandled rejection.
      framesCommitted.catch(() => undefined);
    }
    const main = open.db.transaction().execute(async (trx) => {
      await findSeriesIds(trx, batch, state, staged);
      await writeRows(trx, batch, state, staged, rows);
      // Written in the main transaction: a new run's row exists only once it commits.
      await writeFrameTotals(trx, state, job.totals);
      // The frames commit before this transaction does, so an ack never precedes its frames.
      await framesCommitted;
    });
    await main.catch(async (error: unknown) => {
      // A retry must not start while this attempt's frame transaction still runs (both would lock the same rows).
      await framesCommitted?.catch(() => undefined);
      throw error;
    });
  } else {
    await open.db.transaction().execute(async (trx) => {
      await findSeriesIds(trx, batch, state, staged);
      await writeRows(trx, batch, state, staged, rows);
      await writeFrameJob(trx, state, await planFrames(trx, batch, state, staged, retention));
    });
  }
}

/** What the writer learnt from a commit that succeeded. */
function applyStaged(state: WriterState, staged: StagedState): void {
  if (state.seriesIds.size + staged.seriesIds.size > MAX_CACHED_SERIES_IDS) {
    state.seriesIds.clear();
    // Forgotten series repair their blocks from the watermarks on their next commit.
    state.openBlocks.clear();
  }
  if (staged.closing !== undefined) state.openBlocks.apply(staged.closing);
  for (const [key, id] of staged.seriesIds) state.seriesIds.set(key, id);
  for (const [id, { run, plan, segments }] of staged.frames) {
    run.apply(plan);
    state.frames.set(id, run);
    // Segment files left without frames are deleted in the background.
    void segments?.apply();
  }
  for (const { session, config, metadata } of staged.written) {
    state.written.set(session, { config, metadata });
  }
}

/** Rows a commit takes from the sessions themselves, when it starts. */
interface CommitRows {
  /** Every touched session's row, flattened (SESSION_INSERT_COLUMNS per row). */
  sessions: unknown[];
  matrices: ConfusionRow[];
  settings: AlertSettingsRow[];
}

/** Everything but image frames, in the commit's transaction. */
async function writeRows(
  trx: Transaction<Database>,
  batch: PendingWrites,
  state: WriterState,
  staged: StagedState,
  rows: CommitRows,
): Promise<void> {
  await insertFlatRows(trx, state.sessionUpsert, rows.sessions, SESSION_INSERT_COLUMNS.length);
  await writeConfigAndMetadata(trx, batch, state, staged);
  await writePoints(trx, batch, state, staged);
  await insertRows(
    trx,
    state.epochInsert,
    batch.epochs.map((row) => [row.sessionId, row.epoch, row.atMs, row.data]),
    4,
  );
  await insertRows(
    trx,
    state.performanceInsert,
    batch.performance.map((row) => [row.sessionId, row.atMs, row.data]),
    3,
  );
  await insertRows(
    trx,
    state.statusInsert,
    batch.statusEvents.map((row) => [
      row.sessionId,
      row.atMs,
      row.status,
      row.connection,
      row.message,
      row.event,
    ]),
    6,
  );
  await upsertCommands(trx, batch);
  await upsertConfusion(trx, state, rows.matrices);
  // Alerts change rarely (folded firings, acknowledgements): the query builder is cheap enough.
  await upsertAlerts(trx, batch);
  await upsertAlertSettings(trx, rows.settings);
}

/**
 * The touched sessions' rows as they stand (name excepted: UpdateSession owns
 * it), in SESSION_INSERT_COLUMNS order, in one flat array: every run's row is
 * written on every commit, so no array per row.
 */
function sessionRows(batch: PendingWrites): unknown[] {
  const values: unknown[] = [];
  for (const session of batch.sessions.values()) {
    const row = sessionColumns(session);
    for (const column of SESSION_INSERT_COLUMNS) values.push(row[column]);
  }
  return values;
}

function sessionColumns(
  session: Session,
): Required<Omit<Insertable<SessionsTable>, SkippedSessionColumn>> {
  const config = session.config;
  return {
    id: session.id,
    client_name: session.clientName,
    client_version: session.clientVersion,
    created_at_ms: session.createdAtMs,
    last_update_ms: session.lastUpdateMs,
    last_seen_ms: session.lastSeenMs,
    status: session.status,
    status_message: session.statusMessage,
    connection: session.connection,
    model_name: config?.modelName ?? '',
    dataset_name: config?.datasetName ?? '',
    class_count: config?.classNames.length ?? 0,
    note: session.metadata?.note ?? '',
    epoch: session.position?.epoch ?? 0,
    batch_idx: session.position?.batchIdx ?? 0,
    latest_loss: session.latestLoss === undefined ? null : toStoredValue(session.latestLoss),
    batches_received: Number(session.batchesReceived),
    last_sequence: Number(session.lastSequence),
    partial_history: session.partialHistory ? 1 : 0,
    history_start_step:
      session.historyStartStep === undefined ? null : Number(session.historyStartStep),
    resume_token: session.resumeToken,
    owner_key_id: session.ownerKeyId,
    series_count: session.series.size,
    open_alerts: session.openAlerts,
  };
}

/** Columns the writer does not set: the name (UpdateSession), and config, metadata and frame totals (own statements). */
type SkippedSessionColumn = 'name' | 'config' | 'metadata' | 'stored_frames' | 'stored_image_bytes';

const UPDATED_SESSION_COLUMNS = [
  'client_name',
  'client_version',
  'last_update_ms',
  'last_seen_ms',
  'status',
  'status_message',
  'connection',
  'model_name',
  'dataset_name',
  'class_count',
  'note',
  'epoch',
  'batch_idx',
  'latest_loss',
  'batches_received',
  'last_sequence',
  'partial_history',
  'history_start_step',
  'resume_token',
  'owner_key_id',
  'series_count',
  'open_alerts',
] as const;

/** Columns of a session row as the writer inserts it. */
const SESSION_INSERT_COLUMNS = ['id', 'created_at_ms', ...UPDATED_SESSION_COLUMNS] as const;

/** Inserts flattened rows (`columns` values each) in statements under MAX_PARAMETERS_PER_STATEMENT. */
async function insertFlatRows(
  trx: Transaction<Database>,
  insert: RawInsert,
  values: unknown[],
  columns: number,
): Promise<void> {
  const perStatement = Math.floor(MAX_PARAMETERS_PER_STATEMENT / columns) * columns;
  if (values.length <= perStatement) return insert.run(trx, values);
  for (let start = 0; start < values.length; start += perStatement) {
    await insert.run(trx, values.slice(start, start + perStatement));
  }
}

/** Inserts rows (one array each, `columns` long) in statements under MAX_PARAMETERS_PER_STATEMENT. */
async function insertRows(
  trx: Transaction<Database>,
  insert: RawInsert,
  rows: readonly unknown[][],
  columns: number,
): Promise<void> {
  for (const chunk of chunks(rows, Math.floor(MAX_PARAMETERS_PER_STATEMENT / columns))) {
    await insert.run(trx, chunk.flat());
  }
}

/** Config and metadata are written only when they changed (a new object): class names may take MBs. */
async function writeConfigAndMetadata(
  trx: Transaction<Database>,
  batch: PendingWrites,
  state: WriterState,
  staged: StagedState,
): Promise<void> {
  for (const session of batch.sessions.values()) {
    const written = state.written.get(session);
    const config = session.config;
    const metadata = session.metadata;
    const configChanged = config !== undefined && written?.config !== config;
    const metadataChanged = metadata !== undefined && written?.metadata !== metadata;
    if (!configChanged && !metadataChanged) continue;
    await trx
      .updateTable('sessions')
      .set({
        ...(configChanged ? { config: asBuffer(toBinary(TrainingConfigSchema, config)) } : {}),
        ...(metadataChanged ? { metadata: asBuffer(toBinary(RunMetadataSchema, metadata)) } : {}),
      })
      .where('id', '=', session.id)
      .execute();
    if (metadataChanged) {
      await trx.deleteFrom('session_tags').where('session_id', '=', session.id).execute();
      const tags = [...new Set(metadata.tags)];
      if (tags.length > 0) {
        await trx
          .insertInto('session_tags')
          .values(tags.map((tag) => ({ session_id: session.id, tag })))
          .execute();
      }
    }
    staged.written.push({ session, config, metadata });
  }
}

/**
 * Ids of the batch's series the writer has not seen yet: inserted (if new)
 * and read back through `db` — the commit's transaction, or with the write
 * thread the main connection, before the commit's statements are built.
 */
async function findSeriesIds(
  db: Kysely<Database>,
  batch: PendingWrites,
  state: WriterState,
  staged: StagedState,
): Promise<void> {
  await findIds(db, batch, state, staged);
  // The series this writer has not written yet: how far their stored points reach (one read per series and process).
  const first = new Set<number>();
  for (const series of batch.series) {
    if (series.size === 0) continue;
    const key = seriesKey(series.sessionId, series.kind, series.name);
    const id = state.seriesIds.get(key) ?? staged.seriesIds.get(key);
    if (id !== undefined && !state.openBlocks.has(id)) first.add(id);
  }
  if (first.size > 0) staged.storedThrough = await storedThrough(db, [...first]);
}

async function findIds(
  db: Kysely<Database>,
  batch: PendingWrites,
  state: WriterState,
  staged: StagedState,
): Promise<void> {
  if (batch.pointCount === 0) return;
  const missing = new Map<string, { session_id: string; name: string; kind: number }>();
  for (const series of batch.series) {
    const key = seriesKey(series.sessionId, series.kind, series.name);
    if (!state.seriesIds.has(key) && !missing.has(key)) {
      missing.set(key, { session_id: series.sessionId, name: series.name, kind: series.kind });
    }
  }
  if (missing.size === 0) return;
  const rows = [...missing.values()];
  for (const chunk of chunks(rows, Math.floor(MAX_PARAMETERS_PER_STATEMENT / 3))) {
    await db
      .insertInto('series')
      .values(chunk)
      .onConflict((conflict) => conflict.columns(['session_id', 'name', 'kind']).doNothing())
      .execute();
  }
  const sessionIds = [...new Set(rows.map((row) => row.session_id))];
  const found = await db
    .selectFrom('series')
    .select(['id', 'session_id', 'name', 'kind'])
    .where('session_id', 'in', sessionIds)
    .execute();
  for (const row of found) {
    const key = seriesKey(row.session_id, row.kind, row.name);
    if (missing.has(key)) staged.seriesIds.set(key, row.id);
  }
}

async function writePoints(
  trx: Transaction<Database>,
  batch: PendingWrites,
  state: WriterState,
  staged: StagedState,
): Promise<void> {
  if (batch.pointCount === 0) return;
  // Rows of four numbers (series, step, value, wall time) in chunks under the parameter limit,
  // each array exactly its chunk's size (a view of a larger one would cross to the thread whole).
  const perChunk = Math.floor(MAX_PARAMETERS_PER_STATEMENT / 4) * 4;
  let left = 0;
  for (const series of batch.series) left += series.size * 4;
  let values = new Float64Array(Math.min(perChunk, left));
  let at = 0;
  const ids: number[] = [];
  for (const series of batch.series) {
    const key = seriesKey(series.sessionId, series.kind, series.name);
    const seriesId = (state.seriesIds.get(key) ?? staged.seriesIds.get(key)) as number;
    ids.push(seriesId);
    for (let index = 0; index < series.size; index++) {
      values[at] = seriesId;
      values[at + 1] = series.steps[index] as number;
      values[at + 2] = series.values[index] as number;
      values[at + 3] = series.wallMs[index] as number;
      at += 4;
      if (at === values.length) {
        await state.pointInsert.runNumbers(trx, values);
        left -= at;
        values = new Float64Array(Math.min(perChunk, left));
        at = 0;
      }
    }
  }
  const closing = planClosing(
    state.openBlocks,
    batch.series.map((series, at) => ({
      seriesId: ids[at] as number,
      steps: series.steps,
      values: series.values,
      wallMs: series.wallMs,
      size: series.size,
    })),
    staged.storedThrough,
  );
  // Set before anything can fail: planning moved the open blocks on (see writeFlush's catch).
  staged.closing = closing;
  await writeClosingBlocks(trx, state.statements, state.postgres, closing);
}

async function upsertCommands(trx: Transaction<Database>, batch: PendingWrites): Promise<void> {
  const rows = [...batch.commands.values()].map((row) => ({
    session_id: row.sessionId,
    command_id: row.commandId,
    issued_at_ms: row.issuedAtMs,
    entry: row.entry,
  }));
  for (const chunk of chunks(rows, Math.floor(MAX_PARAMETERS_PER_STATEMENT / 4))) {
    await trx
      .insertInto('commands')
      .values(chunk)
      .onConflict((conflict) =>
        conflict
          .columns(['session_id', 'command_id'])
          .doUpdateSet((eb) => ({ entry: eb.ref('excluded.entry') })),
      )
      .execute();
  }
}

/**
 * Adds the batch's frames to each run's stored frames and applies the
 * retention policy: the new frames it keeps (to insert), the stored ones it
 * drops (to delete) and each run's frame count and bytes. Reads only for a
 * run whose frames the writer has not seen since it started.
 */
async function planFrames(
  reader: Kysely<Database>,
  batch: PendingWrites,
  state: WriterState,
  staged: StagedState,
  retention: RetentionPolicy,
): Promise<FrameJob> {
  const job: FrameJob = { inserts: [], fileInserts: [], files: [], deletes: [], totals: [] };
  if (batch.frames.size === 0) return job;
  const bySession = new Map<string, PendingFrame[]>();
  for (const frame of batch.frames.values()) {
    const list = bySession.get(frame.sessionId);
    if (list === undefined) bySession.set(frame.sessionId, [frame]);
    else list.push(frame);
  }
  for (const [sessionId, incoming] of bySession) {
    let run = state.frames.get(sessionId);
    const files = state.frameFiles;
    let segments = state.segments.get(sessionId);
    if (run === undefined || (files !== undefined && segments === undefined)) {
      // First frames of this run since the server started: read what the store holds (no frame bytes).
      const stored = await reader
        .selectFrom('image_frames')
        .select(['step', 'bytes', 'file_segment', 'file_writer'])
        .where('session_id', '=', sessionId)
        .orderBy('step')
        .execute();
      const keys = stored.map((frame) =>
        frame.file_segment === null ? null : segmentKey(frame.file_writer, frame.file_segment),
      );
      run = RunFrames.from(
        stored.map(({ step, bytes }, at) => ({ step, bytes, segment: keys[at] })),
      );
      if (files !== undefined) {
        segments = RunSegments.load(files, sessionId, keys);
        state.segments.set(sessionId, segments);
      }
    }
    const frames = incoming.map((frame) => ({
      step: frame.step,
      bytes: frame.frame.byteLength,
      segment: -1,
    }));
    // Looks at the frames whose fate may change, not at every stored frame (see retention-plan.ts).
    const plan = planRetention(run, frames, retention);
    const changes =
      files !== undefined && segments !== undefined
        ? new SegmentChanges(files, sessionId, segments)
        : undefined;
    // A dropped step is stored unless it is new in this commit (a re-sent step was stored before).
    for (const step of plan.dropped) {
      if (!run.has(step)) continue;
      job.deletes.push([sessionId, step]);
      changes?.remove(run.segmentOf(step));
    }
    incoming.forEach((frame, index) => {
      if (plan.dropped.has(frame.step)) return;
      const { sessionId, step, epoch, batchIdx, timestampMs } = frame;
      const bytes = frame.frame.byteLength;
      if (changes === undefined) {
        job.inserts.push([sessionId, step, epoch, batchIdx, timestampMs, bytes, frame.frame]);
        return;
      }
      // A re-sent step's stored bytes stay in their segment until it dies.
      if (run.has(step)) changes.remove(run.segmentOf(step));
      const { segment, offset } = changes.append(step, frame.frame);
      (frames[index] as { segment: number }).segment = segment;
      const [writer, number] = segmentColumns(segment);
      const row: FileFrameRow = [
        sessionId,
        step,
        epoch,
        batchIdx,
        timestampMs,
        bytes,
        NO_BYTES,
        number,
        offset,
        writer,
      ];
      job.fileInserts.push(row);
    });
    if (changes !== undefined) job.files.push(...changes.writes());
    job.totals.push([plan.count, plan.bytes, sessionId]);
    staged.frames.set(sessionId, { run, plan, segments: changes });
  }
  return job;
}

/** Each run's stored frame count and bytes, after retention: one statement for every run of the commit. */
async function writeFrameTotals(
  trx: Transaction<Database>,
  state: WriterState,
  totals: FrameJob['totals'],
): Promise<void> {
  if (totals.length === 0) return;
  if (state.postgres) {
    await state.statements.run(
      trx,
      'update sessions set stored_frames = t.frames, stored_image_bytes = t.bytes from unnest(?::bigint[], ?::bigint[], ?::text[]) as t(frames, bytes, id) where sessions.id = t.id',
      [totals.map((row) => row[0]), totals.map((row) => row[1]), totals.map((row) => row[2])],
    );
    return;
  }
  for (const chunk of chunks(totals, Math.floor(MAX_PARAMETERS_PER_STATEMENT / 3))) {
    await state.statements.run(
      trx,
      `with t (frames, bytes, id) as (values ${rowPlaceholders(chunk.length, 3)}) update sessions set stored_frames = t.frames, stored_image_bytes = t.bytes from t where sessions.id = t.id`,
      chunk.flat(),
    );
  }
}

/** Writes a frame job inside the commit's transaction (SQLite; recorded for the write thread when there is one). */
async function writeFrameJob(
  trx: Transaction<Database>,
  state: WriterState,
  job: FrameJob,
): Promise<void> {
  // Every run's dropped steps in one statement (by the (session_id, step) key), not one per run.
  if (state.postgres && job.deletes.length > 0) {
    await state.statements.run(
      trx,
      'delete from image_frames f using unnest(?::text[], ?::bigint[]) as d(session_id, step) where f.session_id = d.session_id and f.step = d.step',
      [job.deletes.map(([sessionId]) => sessionId), job.deletes.map(([, step]) => step)],
    );
  }
  for (const chunk of chunks(
    state.postgres ? [] : job.deletes,
    Math.floor(MAX_PARAMETERS_PER_STATEMENT / 2),
  )) {
    await state.statements.run(
      trx,
      `delete from image_frames where (session_id, step) in (values ${rowPlaceholders(chunk.length, 2)})`,
      chunk.flat(),
    );
  }
  await writeFrameTotals(trx, state, job.totals);
  await insertBlobRows(trx, state.frameInsert, job.inserts, (row) => row[5]);
  await insertBlobRows(trx, state.fileFrameInsert, job.fileInserts, () => 0);
}

/** `frame` of a row whose bytes are in a segment file (the column is NOT NULL). */
const NO_BYTES = new Uint8Array(0);

/**
 * Multi-row INSERTs of rows carrying blobs: a statement closes before it
 * would pass MAX_BLOB_BYTES_PER_STATEMENT of blobs or the parameter limit.
 */
async function insertBlobRows<Row extends readonly unknown[]>(
  trx: Transaction<Database>,
  insert: RawInsert,
  rows: readonly Row[],
  blobBytes: (row: Row) => number,
): Promise<void> {
  let values: unknown[] = [];
  let chunkBytes = 0;
  for (const row of rows) {
    const bytes = blobBytes(row);
    if (
      values.length > 0 &&
      (chunkBytes + bytes > MAX_BLOB_BYTES_PER_STATEMENT ||
        values.length + row.length > MAX_PARAMETERS_PER_STATEMENT)
    ) {
      await insert.run(trx, values);
      values = [];
      chunkBytes = 0;
    }
    for (const value of row) values.push(value);
    chunkBytes += bytes;
  }
  await insert.run(trx, values);
}

function* chunks<T>(rows: readonly T[], size: number): Generator<T[]> {
  for (let start = 0; start < rows.length; start += size) yield rows.slice(start, start + size);
}

/**
 * The batch's matrices in multi-row upserts, up to MAX_BLOB_BYTES_PER_STATEMENT
 * each (a matrix may be large: MAX_CONFUSION_CELLS cells). Every run that
 * counted predictions since the last commit has one, so one statement per
 * matrix was ~35 of a commit's ~95 statements at 40 trainers.
 */
async function upsertConfusion(
  trx: Transaction<Database>,
  state: WriterState,
  rows: readonly ConfusionRow[],
): Promise<void> {
  await insertBlobRows(trx, state.confusionUpsert, rows, (row) => row[3].byteLength);
}

/** session_id, epoch, predictions, matrix. */
type ConfusionRow = [string, number, number, Buffer];

/** The changed epochs' matrices as they stand now (an epoch no longer held in memory was written already). */
function confusionRows(batch: PendingWrites): ConfusionRow[] {
  const rows: ConfusionRow[] = [];
  for (const { session, epoch } of batch.confusion.values()) {
    const held = session.confusion.get(epoch);
    if (held === undefined) continue;
    rows.push([session.id, epoch, held.predictions, asBuffer(held.toBytes())]);
  }
  return rows;
}

async function upsertAlerts(trx: Transaction<Database>, batch: PendingWrites): Promise<void> {
  const rows = [...batch.alerts.values()].map((row) => ({
    session_id: row.sessionId,
    alert_id: row.alertId,
    first_at_ms: row.firstAtMs,
    acknowledged_at_ms: row.acknowledgedAtMs,
    alert: row.alert,
  }));
  for (const chunk of chunks(rows, Math.floor(MAX_PARAMETERS_PER_STATEMENT / 5))) {
    await trx
      .insertInto('alerts')
      .values(chunk)
      .onConflict((conflict) =>
        conflict.columns(['session_id', 'alert_id']).doUpdateSet((eb) => ({
          acknowledged_at_ms: eb.ref('excluded.acknowledged_at_ms'),
          alert: eb.ref('excluded.alert'),
        })),
      )
      .execute();
  }
}

interface AlertSettingsRow {
  session_id: string;
  settings: Buffer;
  operator_rules: Buffer;
  webhooks_from_operator: number;
}

/** The changed sessions' alert settings as they stand now, webhook URLs whole (the store is not a dashboard). */
function alertSettingsRows(batch: PendingWrites): AlertSettingsRow[] {
  return [...batch.alertSettings.values()].map((session) => ({
    session_id: session.id,
    settings: asBuffer(
      toBinary(
        AlertSettingsSchema,
        create(AlertSettingsSchema, {
          rules: session.alertRules,
          webhookUrls: session.webhookUrls,
          updatedBy: session.alertSettingsBy,
          updatedAtMs: BigInt(session.alertSettingsAtMs),
        }),
      ),
    ),
    operator_rules: asBuffer(
      toBinary(
        AlertSettingsSchema,
        create(AlertSettingsSchema, { rules: session.operatorAlertRules }),
      ),
    ),
    webhooks_from_operator: session.webhookUrlsFromOperator ? 1 : 0,
  }));
}

async function upsertAlertSettings(
  trx: Transaction<Database>,
  rows: AlertSettingsRow[],
): Promise<void> {
  for (const chunk of chunks(rows, Math.floor(MAX_PARAMETERS_PER_STATEMENT / 4))) {
    await trx
      .insertInto('alert_settings')
      .values(chunk)
      .onConflict((conflict) =>
        conflict.column('session_id').doUpdateSet((eb) => ({
          settings: eb.ref('excluded.settings'),
          operator_rules: eb.ref('excluded.operator_rules'),
          webhooks_from_operator: eb.ref('excluded.webhooks_from_operator'),
        })),
      )
      .execute();
  }
}

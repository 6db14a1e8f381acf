import { create } from '@bufbuild/protobuf';
import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  DeleteSessionResponseSchema,
  GetConfusionMatrixResponseSchema,
  GetImageFramesResponseSchema,
  QuerySeriesResponseSchema,
  RunMetadataSchema,
  SeriesWindowSchema,
  TrainingStatus,
  UpdateSessionResponseSchema,
  type DeleteSessionRequest,
  type DeleteSessionResponse,
  type GetConfusionMatrixRequest,
  type GetConfusionMatrixResponse,
  type GetImageFramesRequest,
  type GetImageFramesResponse,
  type ImageFrame,
  type ListSessionsRequest,
  type ListSessionsResponse,
  type QuerySeriesRequest,
  type QuerySeriesResponse,
  type SessionSummary,
  type UpdateSessionRequest,
  type UpdateSessionResponse,
} from '@trainwatch/proto';
import { errors } from '../common/app-error';
import {
  DASHBOARD_MESSAGE_BUDGET_BYTES,
  MAX_CONFUSION_EPOCHS_LISTED,
  MAX_FILTER_SCAN_FRAMES,
  MAX_FRAME_STEPS,
  QUERY_BUCKET_BYTES,
} from '../common/limits';
import { SERVER_SETTINGS } from '../config/config.module';
import type { ServerSettings } from '../config/server-config';
import { SessionEventBus } from '../events/event-bus';
import { imageFrameParts } from '../fan-out/image-frame-parts';
import { LatestImagesService } from '../images/latest-images.service';
import { restoredSession } from '../sessions/restore-session';
import type { Session } from '../sessions/session';
import { CURSOR_BASE, SessionsService } from '../sessions/sessions.service';
import { runMetadataProblem, mergeRunMetadata } from '../sessions/run-metadata';
import { STORE_DATABASE, type StoreDatabase } from '../store/store-database';
import { StoreEdits } from '../store/store-edits';
import { isStoreUnavailable } from '../store/store-errors';
import { StoreReads } from '../store/store-reads';
import { StoreWriter } from '../store/store-writer';
import { loadStoredRun } from '../store/stored-run';
import { storedSummary, type SessionRow } from '../store/stored-summary';
import { orderOf } from '../store/session-order';
import { MIN_SERIES_HISTORY_POINTS } from '../common/limits';
import {
  assemblePage,
  memoryEntries,
  parseListRequest,
  type PageEntry,
} from '../dashboard/session-pages';
import {
  checkUpdate,
  exactStep,
  frameCount,
  queryNames,
  queryPoints,
  stepWindow,
} from './run-requests';
import { SeriesAnswerCache } from './series-answer-cache';

/** Stored frames decoded at once while a filtered GetImageFrames looks for matches. */
const FILTER_SCAN_CHUNK = 32;

/**
 * The GetImageFrames filter (truth_class, predicted_class, wrong_only) as a
 * test of a frame: true when one of its images matches. Undefined without one.
 */
export function frameFilter(
  request: GetImageFramesRequest,
): ((frame: ImageFrame) => boolean) | undefined {
  const { truthClass, predictedClass, wrongOnly } = request;
  if (truthClass === undefined && predictedClass === undefined && !wrongOnly) return undefined;
  return (frame) => {
    const pairs = Math.min(frame.predictions.length, frame.groundTruth.length);
    for (let index = 0; index < pairs; index++) {
      const truth = frame.groundTruth[index] as number;
      const predicted = (frame.predictions[index] as { predictedClass: number }).predictedClass;
      if (truthClass !== undefined && truth !== truthClass) continue;
      if (predictedClass !== undefined && predicted !== predictedClass) continue;
      if (wrongOnly && truth === predicted) continue;
      return true;
    }
    return false;
  };
}

/**
 * Every run, live or stored. Sessions in memory (live ones, and stored
 * runs someone watches or whose trainer came back) are answered from
 * memory; every other run from the store, which is read, never loaded
 * whole: the server knows its stored runs at start-up without holding them.
 * A stored run is restored into memory only when it is watched or its
 * trainer comes back (see restore()).
 */
@Injectable()
export class RunsService {
  private readonly logger = new Logger(RunsService.name);
  private readonly reads: StoreReads | undefined;
  private readonly edits: StoreEdits | undefined;
  /** QuerySeries answers of finished runs (SERIES_CACHE_BYTES). */
  private readonly answers: SeriesAnswerCache;
  /** Restores under way, so two callers asking for one run restore it once. */
  private readonly restoring = new Map<string, Promise<void>>();

  constructor(
    @Inject(SERVER_SETTINGS) private readonly settings: ServerSettings,
    @Inject(STORE_DATABASE) database: StoreDatabase,
    private readonly sessions: SessionsService,
    private readonly images: LatestImagesService,
    private readonly writer: StoreWriter,
    private readonly bus: SessionEventBus,
  ) {
    this.reads = database === null ? undefined : new StoreReads(database.db, database.frameFiles);
    this.edits = database === null ? undefined : new StoreEdits(database.db, database.frameFiles);
    this.answers = new SeriesAnswerCache(settings.seriesCacheBytes);
  }

  /** True when runs are kept in a store (not STORE_ENGINE=memory). */
  get hasStore(): boolean {
    return this.reads !== undefined;
  }

  /**
   * Makes a stored run a session in memory, as it was, if it is not one
   * already: its trainer came back, or someone watches it. Undefined when
   * there is nothing to wait for (held already, or no store).
   */
  restore(sessionId: string): Promise<void> | undefined {
    if (this.reads === undefined || sessionId === '' || this.sessions.find(sessionId)) {
      return undefined;
    }
    let pending = this.restoring.get(sessionId);
    if (pending === undefined) {
      pending = this.load(sessionId).finally(() => this.restoring.delete(sessionId));
      this.restoring.set(sessionId, pending);
    }
    return pending;
  }

  /**
   * Runs a store read; a store that cannot answer (PostgreSQL stopped, say)
   * is UNAVAILABLE naming the cause, not an internal error: the client may retry.
   */
  private async guarded<T>(what: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      // Anything else (a bug, a bad request) keeps its own answer.
      if (!isStoreUnavailable(error)) throw error;
      throw errors.unavailable(`${what}: the store cannot be read now (${error.message})`);
    }
  }

  private load(sessionId: string): Promise<void> {
    return this.guarded(`reading session ${sessionId} back`, () => this.loadNow(sessionId));
  }

  private async loadNow(sessionId: string): Promise<void> {
    const reads = this.reads as StoreReads;
    const settings = this.settings;
    const run = await loadStoredRun(reads, sessionId, {
      commandAuditSize: settings.commandAuditSize,
      lossHistoryPoints: settings.lossHistoryPoints,
      pointsPerSeries: (count) =>
        Math.max(
          MIN_SERIES_HISTORY_POINTS,
          Math.min(
            settings.seriesHistoryPoints,
            Math.floor(settings.seriesHistoryPointsTotal / Math.max(1, count)),
          ),
        ),
    });
    // Gone, or registered meanwhile by a trainer: nothing to restore.
    if (run === undefined || this.sessions.find(sessionId) !== undefined) return;
    const session = this.sessions.adopt(restoredSession(run, settings, CURSOR_BASE));
    if (run.latestImages !== undefined && session.latestImages === undefined) {
      this.images.hold(session, run.latestImages);
    }
    this.logger.log(`restored session ${sessionId} from the store`);
  }

  /** The session with this id, restored from the store if needed; NOT_FOUND when neither has it. */
  async session(sessionId: string): Promise<Session> {
    await this.restore(sessionId);
    return this.sessions.get(sessionId);
  }

  /**
   * A ListSessions page: sessions in memory (with their live status,
   * connection and position) and stored runs, filtered and ordered alike,
   * merged in the request's order.
   */
  async list(request: ListSessionsRequest): Promise<ListSessionsResponse> {
    const query = parseListRequest(request);
    const held = this.sessions.list();
    const entries: PageEntry[] = memoryEntries(held, query);
    if (this.reads === undefined) return assemblePage(entries, query, entries.length);
    // Every run held in memory is listed from there, never twice.
    const filter = { ...query.filter, excludeIds: held.map((session) => session.id) };
    let rows: SessionRow[];
    let storedCount: number;
    try {
      [rows, storedCount] = await Promise.all([
        this.reads.listSessions(filter, query.order, query.after, query.limit + 1),
        this.reads.countSessions(filter),
      ]);
    } catch (error) {
      if (!isStoreUnavailable(error)) throw error;
      // The live runs are still worth seeing while the store is away (health says why).
      this.logger.warn(`listing runs held in memory only: ${error.message}`);
      return assemblePage(entries, query, entries.length);
    }
    const key = orderOf(query.order).key;
    for (const row of rows) {
      entries.push({
        position: {
          key:
            key === 'created'
              ? row.created_at_ms
              : key === 'updated'
                ? row.last_update_ms
                : (row.name === '' ? row.id : row.name).toLowerCase(),
          id: row.id,
        },
        summary: () => storedSummary(row),
      });
    }
    const page = assemblePage(entries, query, entries.length - rows.length + storedCount);
    await this.addStoredFrames(page.sessions).catch((error: unknown) => {
      if (!isStoreUnavailable(error)) throw error;
    });
    return page;
  }

  /** stored_frames of sessions answered from memory (only the store counts them). */
  private async addStoredFrames(summaries: SessionSummary[]): Promise<void> {
    const live = summaries.filter((summary) => this.sessions.find(summary.sessionId));
    if (live.length === 0 || this.reads === undefined) return;
    const rows = new Map(
      (await this.reads.sessions(live.map((summary) => summary.sessionId))).map((row) => [
        row.id,
        row,
      ]),
    );
    for (const summary of live)
      summary.storedFrames = rows.get(summary.sessionId)?.stored_frames ?? 0;
  }

  /** The stored row of a run; NOT_FOUND when neither memory nor the store knows it. */
  private async storedRow(sessionId: string): Promise<SessionRow | undefined> {
    const row = await this.reads?.session(sessionId);
    if (row === undefined && this.sessions.find(sessionId) === undefined) {
      throw errors.notFound(`session ${JSON.stringify(sessionId)} is not known to this server`);
    }
    return row;
  }

  private requireStore(what: string): StoreReads {
    if (this.reads === undefined) {
      throw errors.failedPrecondition(
        `${what} reads the store, and this server keeps none (STORE_ENGINE=memory)`,
      );
    }
    return this.reads;
  }

  /**
   * QuerySeries, always from the store: it holds every point at full
   * resolution (memory holds a downsampled history). For a live run that is
   * everything committed, i.e. all but the last STORE_FLUSH_INTERVAL_MS,
   * which the watch stream delivers. With many series, each gets fewer
   * buckets so the answer stays under the 4 MiB message limit.
   */
  querySeries(request: QuerySeriesRequest): Promise<QuerySeriesResponse> {
    return this.guarded('QuerySeries', () => this.querySeriesNow(request));
  }

  private async querySeriesNow(request: QuerySeriesRequest): Promise<QuerySeriesResponse> {
    const reads = this.requireStore('QuerySeries');
    const window = stepWindow(request.fromStep, request.toStep);
    const maxPoints = queryPoints(request);
    const names = queryNames(request);
    // Independent reads, at once (on PostgreSQL each on a connection of its own).
    const [row, series] = await Promise.all([
      this.storedRow(request.sessionId),
      reads.seriesOf(request.sessionId, names),
    ]);
    const key = this.answerKey(request, row, window, maxPoints);
    const cached = key === undefined ? undefined : this.answers.get(key);
    if (cached !== undefined) return cached;
    const fit = Math.floor(
      DASHBOARD_MESSAGE_BUDGET_BYTES / (Math.max(1, series.length) * QUERY_BUCKET_BYTES),
    );
    const buckets = Math.max(1, Math.min(maxPoints, fit));
    const response = create(QuerySeriesResponseSchema);
    for (const one of series) {
      const stored = await reads.seriesWindow(one, window.from, window.to, buckets);
      response.series.push(
        create(SeriesWindowSchema, {
          name: stored.name,
          kind: stored.kind,
          steps: stored.buckets.map((bucket) => BigInt(bucket.step)),
          mins: stored.buckets.map((bucket) => bucket.min),
          maxs: stored.buckets.map((bucket) => bucket.max),
          lasts: stored.buckets.map((bucket) => bucket.last),
          lastSteps: stored.buckets.map((bucket) => BigInt(bucket.lastStep)),
          timestampsMs: stored.buckets.map((bucket) => BigInt(bucket.lastWallMs)),
          counts: stored.buckets.map((bucket) => bucket.count),
          totalPoints: BigInt(stored.totalPoints),
          exact: stored.exact,
        }),
      );
    }
    if (key !== undefined) {
      const bucketCount = response.series.reduce((sum, one) => sum + one.steps.length, 0);
      this.answers.set(key, response, (bucketCount + response.series.length) * QUERY_BUCKET_BYTES);
    }
    return response;
  }

  /**
   * The cache key of a QuerySeries, or undefined when its answer may still
   * change: only a run whose stored row says it finished, and that no
   * trainer is writing to again, is answered from the cache. The row's
   * status and last update are in the key, so once a resumed run is written
   * the old entries no longer match.
   */
  private answerKey(
    request: QuerySeriesRequest,
    row: SessionRow | undefined,
    window: { from: number; to: number | undefined },
    maxPoints: number,
  ): string | undefined {
    if (row === undefined || this.answers.maxBytes === 0) return undefined;
    const status = row.status as TrainingStatus;
    if (status !== TrainingStatus.COMPLETED && status !== TrainingStatus.FAILED) return undefined;
    const held = this.sessions.find(request.sessionId);
    if (held !== undefined && !held.finished) return undefined;
    const names = [...new Set(request.names)].sort().join('\u0001');
    return [
      request.sessionId,
      status,
      row.last_update_ms,
      window.from,
      window.to ?? '',
      maxPoints,
      names,
    ].join('\u0000');
  }

  /**
   * GetImageFrames from the store: up to max_frames frames (nearest to
   * around_step first, else from from_step on), as many as fit under 4 MiB
   * (at least the first, cut to the images that fit when it alone is
   * larger), in step order, and the steps of every stored frame in the
   * window (at most MAX_FRAME_STEPS, evenly spread).
   */
  imageFrames(request: GetImageFramesRequest): Promise<GetImageFramesResponse> {
    return this.guarded('GetImageFrames', () => this.imageFramesNow(request));
  }

  private async imageFramesNow(request: GetImageFramesRequest): Promise<GetImageFramesResponse> {
    const reads = this.requireStore('GetImageFrames');
    const window = stepWindow(request.fromStep, request.toStep);
    const limit = frameCount(request);
    await this.storedRow(request.sessionId);
    const around = request.aroundStep === undefined ? undefined : exactStep(request.aroundStep);
    const filter = frameFilter(request);
    if (filter !== undefined) {
      return this.filteredFrames(reads, request.sessionId, window, limit, around, filter);
    }
    const [sizes, steps] = await Promise.all([
      reads.frameSizes(request.sessionId, window.from, window.to, limit, around),
      reads.frameSteps(request.sessionId, window.from, window.to, MAX_FRAME_STEPS),
    ]);
    // frame_steps take at most ~11 bytes a step; the frames share the rest.
    const budget = DASHBOARD_MESSAGE_BUDGET_BYTES - steps.length * 11 - 1024;
    let room = budget;
    const chosen: number[] = [];
    for (const frame of sizes) {
      // Per frame: its bytes plus a little for the fields around them.
      const cost = frame.bytes + 64;
      if (chosen.length > 0 && cost > room) continue;
      chosen.push(frame.step);
      room -= cost;
    }
    const frames = await reads.framesAt(request.sessionId, chosen);
    const only = frames[0];
    if (frames.length === 1 && only !== undefined && room < 0) {
      // One frame larger than a message: the images that fit (as a watch sends its first part).
      frames[0] = imageFrameParts(only, budget)[0] ?? only;
    }
    const response = create(GetImageFramesResponseSchema, {
      frames,
      frameSteps: steps.map(BigInt),
    });
    return response;
  }

  /**
   * GetImageFrames with a filter: looks at up to MAX_FILTER_SCAN_FRAMES
   * stored frames (nearest around_step first, else from the window's start),
   * a chunk at a time, and returns the first `limit` that match (as many as
   * fit under 4 MiB) with the steps of every match among those looked at.
   */
  private async filteredFrames(
    reads: StoreReads,
    sessionId: string,
    window: { from: number; to: number | undefined },
    limit: number,
    around: number | undefined,
    filter: (frame: ImageFrame) => boolean,
  ): Promise<GetImageFramesResponse> {
    const candidates = await reads.frameSizes(
      sessionId,
      window.from,
      window.to,
      MAX_FILTER_SCAN_FRAMES,
      around,
    );
    const matches: number[] = [];
    const frames: ImageFrame[] = [];
    let room = DASHBOARD_MESSAGE_BUDGET_BYTES - MAX_FILTER_SCAN_FRAMES * 11 - 1024;
    for (let start = 0; start < candidates.length; start += FILTER_SCAN_CHUNK) {
      const chunk = candidates.slice(start, start + FILTER_SCAN_CHUNK);
      const sizes = new Map(chunk.map((frame) => [frame.step, frame.bytes]));
      // framesAt answers in step order; keep the candidates' order (nearest first).
      const loaded = new Map(
        (await reads.framesAt(sessionId, [...sizes.keys()])).map((frame) => [
          Number(frame.step),
          frame,
        ]),
      );
      for (const { step } of chunk) {
        const frame = loaded.get(step);
        if (frame === undefined || !filter(frame)) continue;
        matches.push(step);
        const cost = (sizes.get(step) ?? 0) + 64;
        if (frames.length < limit && (frames.length === 0 || cost <= room)) {
          frames.push(frame);
          room -= cost;
        }
      }
    }
    frames.sort((a, b) => Number(a.step - b.step));
    return create(GetImageFramesResponseSchema, {
      frames,
      frameSteps: matches.sort((a, b) => a - b).map(BigInt),
      framesScanned: candidates.length,
    });
  }

  /**
   * GetConfusionMatrix: an epoch's matrix from memory when the session holds
   * it (it may be ahead of the store by one commit), else from the store;
   * and every epoch with a matrix.
   */
  async confusionMatrix(request: GetConfusionMatrixRequest): Promise<GetConfusionMatrixResponse> {
    const held = this.sessions.find(request.sessionId);
    if (held === undefined) await this.storedRow(request.sessionId);
    const inMemory =
      request.epoch === undefined ? held?.confusion.latest() : held?.confusion.get(request.epoch);
    const stored = await this.reads?.confusionEpochs(
      request.sessionId,
      MAX_CONFUSION_EPOCHS_LISTED,
    );
    const epochs = new Set([...(stored ?? []), ...(held?.confusion.epochNumbers() ?? [])]);
    let matrix = inMemory?.toMessage();
    if (matrix === undefined && (request.epoch !== undefined || held === undefined)) {
      matrix = await this.reads?.confusionMatrix(request.sessionId, request.epoch);
    }
    return create(GetConfusionMatrixResponseSchema, {
      matrix,
      epochs: [...epochs].sort((a, b) => a - b).slice(-MAX_CONFUSION_EPOCHS_LISTED),
    });
  }

  /**
   * UpdateSession: name, note and tags of a run, live or stored. A live
   * run's watchers get the new metadata as a `metadata` event; the name
   * shows in lists and the next snapshot.
   */
  update(request: UpdateSessionRequest): Promise<UpdateSessionResponse> {
    return this.guarded('UpdateSession', () => this.updateNow(request));
  }

  private async updateNow(request: UpdateSessionRequest): Promise<UpdateSessionResponse> {
    checkUpdate(request);
    const held = this.sessions.find(request.sessionId);
    const row = held === undefined ? await this.storedRow(request.sessionId) : undefined;
    const current = held?.metadata ?? (row === undefined ? undefined : storedSummary(row).metadata);
    const change = create(RunMetadataSchema, {
      tags: request.setTags ? request.tags : [],
      replaceTags: request.setTags,
      note: request.note,
    });
    const metadataChanges = request.setTags || request.note !== undefined;
    if (metadataChanges) {
      const problem = runMetadataProblem(change, current);
      if (problem !== undefined) throw errors.invalidArgument(problem);
    }
    const metadata = metadataChanges ? mergeRunMetadata(current, change) : undefined;
    if (held !== undefined) {
      if (request.name !== undefined) held.name = request.name;
      if (metadata !== undefined) {
        held.metadata = metadata;
        // The writer stores it (tags and note included) like any merge; watchers see it.
        await this.bus.emit('metadata.changed', { session: held, metadata });
      }
      if (request.name !== undefined && this.edits !== undefined) {
        // The row exists once the writer committed the session's registration.
        await this.writer.flushNow();
        await this.edits.updateSession(held.id, { name: request.name });
      }
      const summary = held.toSummary({ withClassNames: false });
      await this.addStoredFrames([summary]);
      return create(UpdateSessionResponseSchema, { session: summary });
    }
    const edits = this.edits as StoreEdits;
    // Merged again with the metadata as stored when the edit runs: another edit may have
    // committed since the row above was read.
    await edits.updateSession(request.sessionId, (stored) => {
      if (!metadataChanges) return { name: request.name };
      const problem = runMetadataProblem(change, stored);
      if (problem !== undefined) throw errors.invalidArgument(problem);
      return { name: request.name, metadata: mergeRunMetadata(stored, change) };
    });
    const updated = await this.storedRow(request.sessionId);
    return create(UpdateSessionResponseSchema, {
      session: updated === undefined ? undefined : storedSummary(updated),
    });
  }

  /**
   * DeleteSession: every row and image of the run; its watchers end with
   * NOT_FOUND. FAILED_PRECONDITION while its trainer streams.
   */
  delete(request: DeleteSessionRequest): Promise<DeleteSessionResponse> {
    return this.guarded('DeleteSession', () => this.deleteNow(request));
  }

  private async deleteNow(request: DeleteSessionRequest): Promise<DeleteSessionResponse> {
    const held = this.sessions.find(request.sessionId);
    if (held?.trainer !== undefined) {
      throw errors.failedPrecondition(
        `session ${request.sessionId} has a trainer streaming to it; stop the run (or wait until its stream ends) before deleting it`,
      );
    }
    const deleted = await this.deleteRun(request.sessionId);
    if (!deleted && held === undefined) {
      throw errors.notFound(
        `session ${JSON.stringify(request.sessionId)} is not known to this server`,
      );
    }
    return create(DeleteSessionResponseSchema);
  }

  /**
   * Removes a run from memory and the store; true when the store had it.
   * The writer forgets what waits for it first, so no late commit brings
   * back part of it.
   */
  async deleteRun(sessionId: string, only: { expiredBefore?: number } = {}): Promise<boolean> {
    if (this.sessions.find(sessionId) !== undefined) this.sessions.remove(sessionId);
    this.answers.dropRun(sessionId);
    if (this.edits === undefined) return false;
    await this.writer.discardSession(sessionId);
    return this.edits.deleteSession(sessionId, only);
  }

  /** Deletes frames folders no stored run owns (older than `graceMs`); resolves with how many. */
  sweepOrphanFrames(graceMs: number): Promise<number> {
    return this.edits?.sweepOrphanFrames(graceMs) ?? Promise.resolve(0);
  }

  /**
   * Retention: deletes a run listed by `expiredRuns(before)` unless it came
   * back since the list was read (its trainer streams, or something arrived
   * for it at or after `before`), looked at again here and in the deleting
   * transaction (another server's trainer). True when deleted.
   */
  async deleteExpiredRun(sessionId: string, before: number): Promise<boolean> {
    const held = this.sessions.find(sessionId);
    if (held !== undefined && (held.trainer !== undefined || held.lastUpdateMs >= before))
      return false;
    return this.deleteRun(sessionId, { expiredBefore: before });
  }

  /** Runs last updated before `before` and not in use, for the retention sweep. */
  async expiredRuns(before: number, limit: number): Promise<string[]> {
    if (this.edits === undefined) return [];
    const busy = this.sessions
      .list()
      .filter((session) => session.trainer !== undefined)
      .map((session) => session.id);
    return this.edits.expiredRuns(before, limit, busy);
  }
}

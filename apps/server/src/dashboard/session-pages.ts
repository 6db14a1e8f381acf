import { create, toBinary } from '@bufbuild/protobuf';
import {
  ListSessionsResponseSchema,
  MAX_TAGS,
  SESSION_ID_PATTERN,
  SESSION_ID_RULE,
  SessionSummarySchema,
  TrainingStatus,
  type ListSessionsRequest,
  type ListSessionsResponse,
  type SessionOrder,
  type SessionSummary,
} from '@trainwatch/proto';
import { errors } from '../common/app-error';
import {
  DASHBOARD_MESSAGE_BUDGET_BYTES,
  DEFAULT_LIST_PAGE_SIZE,
  MAX_LIST_FILTER_TEXT_LENGTH,
  MAX_LIST_PAGE_SIZE,
} from '../common/limits';
import type { Session } from '../sessions/session';
import {
  comesBefore,
  decodePageToken,
  displayKey,
  encodePageToken,
  orderOf,
  type ListPosition,
} from '../store/session-order';
import type { SessionFilter } from '../store/store-reads';

/** A ListSessions request, checked: page size, order, where the page starts, filters. */
export interface ListQuery {
  limit: number;
  order: SessionOrder;
  after: ListPosition | undefined;
  filter: Omit<SessionFilter, 'excludeIds'>;
}

/** One candidate line of a page: where it sorts and how it reads. */
export interface PageEntry {
  position: ListPosition;
  summary(): SessionSummary;
}

function pageSize(requested: number): number {
  if (requested < 0 || requested > MAX_LIST_PAGE_SIZE) {
    throw errors.invalidArgument(
      `page_size ${requested} is out of range: use 1 to ${MAX_LIST_PAGE_SIZE}, or 0 for ${DEFAULT_LIST_PAGE_SIZE}`,
    );
  }
  return requested === 0 ? DEFAULT_LIST_PAGE_SIZE : requested;
}

export function parseListRequest(request: ListSessionsRequest): ListQuery {
  const limit = pageSize(request.pageSize);
  orderOf(request.order);
  if (request.text.length > MAX_LIST_FILTER_TEXT_LENGTH) {
    throw errors.invalidArgument(
      `text has ${request.text.length} characters; at most ${MAX_LIST_FILTER_TEXT_LENGTH}`,
    );
  }
  if (request.sessionIds.length > MAX_LIST_PAGE_SIZE) {
    throw errors.invalidArgument(
      `session_ids has ${request.sessionIds.length} ids; at most ${MAX_LIST_PAGE_SIZE}`,
    );
  }
  const badId = request.sessionIds.find((id) => !SESSION_ID_PATTERN.test(id));
  if (badId !== undefined) {
    throw errors.invalidArgument(
      `session_ids holds ${JSON.stringify(badId.slice(0, 140))}, not a session id (${SESSION_ID_RULE})`,
    );
  }
  // Repeats say nothing more; the rest is bounded: statuses by the enum, tags by what a run can carry.
  const statuses = [...new Set(request.statuses)];
  const unknownStatus = statuses.find((status) => TrainingStatus[status] === undefined);
  if (unknownStatus !== undefined) {
    throw errors.invalidArgument(`statuses holds ${unknownStatus}, not a TrainingStatus`);
  }
  const tags = [...new Set(request.tags)];
  if (tags.length > MAX_TAGS) {
    throw errors.invalidArgument(
      `tags has ${tags.length} distinct tags; a run carries at most ${MAX_TAGS}, so at most ${MAX_TAGS} can match`,
    );
  }
  return {
    limit,
    order: request.order,
    after: request.pageToken === '' ? undefined : decodePageToken(request.pageToken, request.order),
    filter: {
      statuses,
      text: request.text,
      tags,
      ids: request.sessionIds,
    },
  };
}

/** Where a session held in memory sorts in `order`. */
export function sessionPosition(session: Session, order: SessionOrder): ListPosition {
  const key = orderOf(order).key;
  return {
    key:
      key === 'created'
        ? session.createdAtMs
        : key === 'updated'
          ? session.lastUpdateMs
          : displayKey(session.name, session.id),
    id: session.id,
  };
}

/** True when a session held in memory passes the request's filters (as the store's query does). */
export function sessionMatches(session: Session, filter: ListQuery['filter']): boolean {
  if (filter.ids.length > 0 && !filter.ids.includes(session.id)) return false;
  if (filter.statuses.length > 0 && !filter.statuses.includes(session.status)) return false;
  const tags = session.metadata?.tags ?? [];
  if (!filter.tags.every((tag) => tags.includes(tag))) return false;
  if (filter.text === '') return true;
  const text = filter.text.toLowerCase();
  return [
    session.id,
    session.name,
    session.config?.modelName ?? '',
    session.config?.datasetName ?? '',
    ...tags,
  ].some((field) => field.toLowerCase().includes(text));
}

/**
 * One ListSessions page from candidates of any source (memory, store):
 * sorted in the request's order, at most `limit` summaries (without class
 * lists), fewer when more would pass `maxBytes` encoded, so a default client
 * can always read it. next_page_token names the last one's position
 * whenever candidates remain after this page.
 */
export function assemblePage(
  candidates: PageEntry[],
  query: ListQuery,
  totalSize: number,
  maxBytes = DASHBOARD_MESSAGE_BUDGET_BYTES,
): ListSessionsResponse {
  const ordered = candidates
    .filter(
      (entry) => query.after === undefined || comesBefore(query.order, query.after, entry.position),
    )
    .sort((a, b) => (comesBefore(query.order, a.position, b.position) ? -1 : 1));
  const response = create(ListSessionsResponseSchema, { totalSize });
  // total_size and the token take a few dozen bytes; the rest is for summaries.
  let used = 128;
  let taken = 0;
  for (const entry of ordered.slice(0, query.limit)) {
    const summary = entry.summary();
    const bytes = toBinary(SessionSummarySchema, summary).byteLength + 4;
    // A page always holds one summary: a summary without class names is a few KiB at most.
    if (taken > 0 && used + bytes > maxBytes) break;
    response.sessions.push(summary);
    used += bytes;
    taken += 1;
  }
  const last = ordered[taken - 1];
  if (last !== undefined && ordered.length > taken) {
    response.nextPageToken = encodePageToken(query.order, last.position);
  }
  return response;
}

/** The memory part of a page: the matching sessions after the token, at most one more than a page. */
export function memoryEntries(sessions: readonly Session[], query: ListQuery): PageEntry[] {
  return sessions
    .filter((session) => sessionMatches(session, query.filter))
    .map((session) => ({
      position: sessionPosition(session, query.order),
      summary: () => session.toSummary({ withClassNames: false }),
    }));
}

/** A page of the sessions held in memory only (a server without a store). */
export function listPage(
  sessions: readonly Session[],
  request: ListSessionsRequest,
  maxBytes = DASHBOARD_MESSAGE_BUDGET_BYTES,
): ListSessionsResponse {
  const query = parseListRequest(request);
  const entries = memoryEntries(sessions, query);
  return assemblePage(entries, query, entries.length, maxBytes);
}

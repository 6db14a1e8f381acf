import { create, toBinary } from '@bufbuild/protobuf';
import {
  ListSessionsResponseSchema,
  SessionSummarySchema,
  type ListSessionsRequest,
  type ListSessionsResponse,
} from '@trainwatch/proto';
import { errors } from '../common/app-error';
import {
  DASHBOARD_MESSAGE_BUDGET_BYTES,
  DEFAULT_LIST_PAGE_SIZE,
  MAX_LIST_PAGE_SIZE,
} from '../common/limits';
import type { Session } from '../sessions/session';

/** Where a page ends: the order key of its last session. */
interface PagePosition {
  createdAtMs: number;
  sessionId: string;
}

/**
 * The list order: newest first, ties by session id (descending). A total
 * order on values that never change, so a token naming the last session of
 * a page finds its place again after sessions were added or evicted.
 */
function comesBefore(a: PagePosition, b: PagePosition): boolean {
  if (a.createdAtMs !== b.createdAtMs) return a.createdAtMs > b.createdAtMs;
  return a.sessionId > b.sessionId;
}

const position = (session: Session): PagePosition => ({
  createdAtMs: session.createdAtMs,
  sessionId: session.id,
});

/** Opaque to clients; versioned so its shape can change without misreading old tokens. */
function encodeToken(at: PagePosition): string {
  return Buffer.from(JSON.stringify({ v: 1, c: at.createdAtMs, i: at.sessionId })).toString(
    'base64url',
  );
}

function decodeToken(token: string): PagePosition {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (typeof parsed === 'object' && parsed !== null) {
      const { v, c, i } = parsed as Record<string, unknown>;
      if (v === 1 && Number.isSafeInteger(c) && typeof i === 'string') {
        return { createdAtMs: c as number, sessionId: i };
      }
    }
  } catch {
    // Falls through to the error below: a token we did not issue.
  }
  throw errors.invalidArgument(
    'page_token is not a next_page_token this server issued; start again with an empty page_token',
  );
}

function pageSize(requested: number): number {
  if (requested < 0 || requested > MAX_LIST_PAGE_SIZE) {
    throw errors.invalidArgument(
      `page_size ${requested} is out of range: use 1 to ${MAX_LIST_PAGE_SIZE}, or 0 for ${DEFAULT_LIST_PAGE_SIZE}`,
    );
  }
  return requested === 0 ? DEFAULT_LIST_PAGE_SIZE : requested;
}

/**
 * One ListSessions page of `sessions`: at most page_size summaries (without
 * class lists), and fewer when more would pass `maxBytes` encoded, so a
 * default client can always read it. next_page_token is set whenever
 * sessions remain after this page.
 */
export function listPage(
  sessions: readonly Session[],
  request: ListSessionsRequest,
  maxBytes = DASHBOARD_MESSAGE_BUDGET_BYTES,
): ListSessionsResponse {
  const limit = pageSize(request.pageSize);
  const after = request.pageToken === '' ? undefined : decodeToken(request.pageToken);
  const ordered = [...sessions].sort((a, b) => (comesBefore(position(a), position(b)) ? -1 : 1));
  const start =
    after === undefined ? 0 : ordered.findIndex((session) => comesBefore(after, position(session)));
  const remaining = start < 0 ? [] : ordered.slice(start);
  const response = create(ListSessionsResponseSchema, { totalSize: sessions.length });
  // total_size and the token take a few dozen bytes; the rest is for summaries.
  let used = 64;
  for (const session of remaining.slice(0, limit)) {
    const summary = session.toSummary({ withClassNames: false });
    const bytes = toBinary(SessionSummarySchema, summary).byteLength + 4;
    // A page always holds one summary: a summary without class names is a few KiB at most.
    if (response.sessions.length > 0 && used + bytes > maxBytes) break;
    response.sessions.push(summary);
    used += bytes;
  }
  const last = remaining[response.sessions.length - 1];
  if (last !== undefined && remaining.length > response.sessions.length) {
    response.nextPageToken = encodeToken(position(last));
  }
  return response;
}

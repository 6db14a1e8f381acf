import { create } from '@bufbuild/protobuf';
import { status } from '@grpc/grpc-js';
import {
  ListSessionsRequestSchema,
  RunMetadataSchema,
  TrainingConfigSchema,
  type TrainingStatus,
} from '@trainwatch/proto';
import { Session } from '../sessions/session';
import { listPage } from './session-pages';

const bounds = { lossHistoryPoints: 16, commandAuditSize: 4 };
const session = (id: string, createdAtMs: number, classes = 3) => {
  const made = new Session(id, createdAtMs, bounds);
  made.config = create(TrainingConfigSchema, {
    totalEpochs: 1,
    batchesPerEpoch: 1,
    batchSize: 1,
    classNames: Array.from({ length: classes }, (_, index) => `class-${index}`),
  });
  return made;
};
const request = (pageSize = 0, pageToken = '') =>
  create(ListSessionsRequestSchema, { pageSize, pageToken });

describe('listPage', () => {
  it('pages newest first; tokens stay right while sessions are added; summaries carry class_count only', () => {
    const sessions = [session('a', 1), session('b', 2), session('c', 3), session('d', 3)];
    const first = listPage(sessions, request(2));
    expect(first.sessions.map((s) => s.sessionId)).toEqual(['d', 'c']);
    expect(first.totalSize).toBe(4);
    expect(first.sessions[0]?.config?.classNames).toEqual([]);
    expect(first.sessions[0]?.classCount).toBe(3);
    sessions.push(session('newer', 9));
    const second = listPage(sessions, request(2, first.nextPageToken));
    expect(second.sessions.map((s) => s.sessionId)).toEqual(['b', 'a']);
    expect(second.nextPageToken).toBe('');
    expect(second.totalSize).toBe(5);
  });

  it('defaults to 100 per page and refuses page_size outside 0..1000 and foreign tokens', () => {
    const sessions = Array.from({ length: 150 }, (_, index) => session(`s${index}`, index));
    expect(listPage(sessions, request()).sessions).toHaveLength(100);
    expect(listPage(sessions, request(1000)).sessions).toHaveLength(150);
    for (const bad of [request(1001), request(-1), request(0, 'nope')]) {
      expect(() => listPage(sessions, bad)).toThrow(
        expect.objectContaining({ code: status.INVALID_ARGUMENT }),
      );
    }
    expect(() => listPage(sessions, request(1001))).toThrow(/1 to 1000/);
  });

  it('takes repeated statuses and tags once; refuses an unknown status and more tags than a run carries', () => {
    const sessions = [session('a', 1), session('b', 2)];
    (sessions[0] as Session).metadata = create(RunMetadataSchema, { tags: ['x'] });
    const repeated = create(ListSessionsRequestSchema, {
      statuses: Array.from({ length: 50_000 }, () => (sessions[0] as Session).status),
      tags: Array.from({ length: 50_000 }, () => 'x'),
    });
    expect(listPage(sessions, repeated).sessions.map((s) => s.sessionId)).toEqual(['a']);
    const unknown = create(ListSessionsRequestSchema, { statuses: [42 as TrainingStatus] });
    expect(() => listPage(sessions, unknown)).toThrow(/statuses holds 42, not a TrainingStatus/);
    const tags = create(ListSessionsRequestSchema, {
      tags: Array.from({ length: 33 }, (_, index) => `t${index}`),
    });
    expect(() => listPage(sessions, tags)).toThrow(
      expect.objectContaining({ code: status.INVALID_ARGUMENT }),
    );
  });

  it('returns fewer sessions than asked when more would pass the byte budget', () => {
    const sessions = Array.from({ length: 10 }, (_, index) => {
      const made = session(`s${index}`, index);
      made.statusMessage = 'x'.repeat(4096);
      return made;
    });
    const page = listPage(sessions, request(10), 10_000);
    expect(page.sessions.length).toBe(2);
    const rest = listPage(sessions, request(10, page.nextPageToken), 10_000);
    expect(rest.sessions[0]?.sessionId).toBe('s7');
  });
});

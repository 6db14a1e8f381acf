import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { ErrorCode } from '@trainwatch/proto';
import { waitFor } from '@trainwatch/testing';
import { TrainingSession, type SessionError, type TerminationReason } from '../src';
import { refusal, ScriptedServer } from './scripted-server';

const config = { totalEpochs: 1, batchesPerEpoch: 100, batchSize: 4 };
const reconnect = { initialDelayMs: 20, maxDelayMs: 50 };

describe('session ownership, as the SDK sees it', () => {
  let server: ScriptedServer;
  const sessions: TrainingSession[] = [];

  beforeEach(async () => {
    server = await ScriptedServer.start();
  });

  afterEach(async () => {
    await Promise.all(sessions.splice(0).map((s) => s.close({ flushTimeoutMs: 200 })));
    await server.close();
  });

  async function open(sessionId: string, errors: SessionError[] = []): Promise<TrainingSession> {
    const session = await TrainingSession.connect({
      address: server.address,
      sessionId,
      config,
      reconnect,
      connectTimeoutMs: 2000,
      onError: (error) => errors.push(error),
    });
    sessions.push(session);
    return session;
  }

  it('keeps the resume token and presents it, with the highest acked sequence, when it comes back', async () => {
    const session = await open('token-keeper');
    expect(server.registrations[0]).toMatchObject({ resumeToken: '', resumeFromSequence: 0n });
    for (let batchIdx = 0; batchIdx < 5; batchIdx++) {
      session.logBatch({ epoch: 0, batchIdx, loss: 1 });
    }
    expect(await session.flush(5000)).toBe(true);
    const acked = session.stats().highestAcked;
    expect(acked).toBe(session.stats().lastSequence);
    expect(server.streams[0]?.token).toBe('token-1');

    // The link fails (not a refusal): the SDK re-registers as the same trainer.
    server.streams[0]?.end(grpc.status.UNAVAILABLE, 'gone for a moment');
    await waitFor(() => server.streams.length === 2, { what: 'a second stream' });
    expect(server.registrations[1]).toMatchObject({
      sessionId: 'token-keeper',
      resumeToken: 'token-1',
      resumeFromSequence: BigInt(acked),
    });
    expect(server.streams[1]?.token).toBe('token-1');
    expect(session.terminated).toBeUndefined();
  });

  it.each([
    ['registration', 'session-taken', grpc.status.ALREADY_EXISTS],
    ['stream', 'session-taken', grpc.status.ALREADY_EXISTS],
    ['stream', 'replaced', grpc.status.ABORTED],
  ] as const)(
    'a %s refused with %s (gRPC %s) is terminal: reported once, no more attempts',
    async (where, reason, code) => {
      const details =
        code === grpc.status.ABORTED
          ? 'replaced by a newer stream of the same trainer'
          : 'another trainer is streaming to this session; a run needs its own session id';
      if (where === 'registration') {
        server.script.register = () => refusal(code, details);
      } else {
        server.script.stream = (stream) => setImmediate(() => stream.end(code, details));
      }
      const errors: SessionError[] = [];
      const terminated: TerminationReason[] = [];
      const session = await TrainingSession.connect({
        address: server.address,
        sessionId: `refused-${where}-${code}`,
        config,
        reconnect,
        connectTimeoutMs: where === 'registration' ? 300 : 2000,
        onError: (error) => errors.push(error),
      });
      sessions.push(session);
      session.on('terminated', (why) => terminated.push(why));
      await waitFor(() => session.terminated !== undefined, { what: 'termination' });
      const attempts = server.registrations.length;
      // Several backoff periods (at most 50 ms each) pass without a new attempt.
      await sleep(300);
      expect(server.registrations.length).toBe(attempts);
      expect(attempts).toBe(1);
      expect(session.terminated).toContain(details);
      expect(session.stats()).toMatchObject({ connected: false, terminated: session.terminated });
      expect(errors.filter((e) => e.kind === 'terminated')).toEqual([
        { kind: 'terminated', reason, message: session.terminated },
      ]);
      // The loop is never blocked and never throws; nothing more is buffered or awaited.
      session.logBatch({ epoch: 0, batchIdx: 0, loss: 1 });
      expect(await session.flush(100)).toBe(false);
    },
  );

  it('another trainer refused on this session: counted, reported once per burst, the stream goes on', async () => {
    const errors: SessionError[] = [];
    const session = await open('holder', errors);
    const stream = await waitFor(() => server.streams[0], { what: 'the stream' });
    for (let i = 0; i < 3; i++) {
      stream.send({
        case: 'error',
        value: {
          code: ErrorCode.SESSION_CONFLICT,
          message:
            'trainer "copy" at 127.0.0.1:5555 was refused: session is held by another stream',
        },
      });
    }
    await waitFor(() => session.stats().writerConflicts === 3, { what: 'three conflicts' });
    const reported = errors.filter((e) => e.kind === 'writer-conflict');
    expect(reported).toHaveLength(1);
    expect(reported[0]).toMatchObject({ count: 1 });
    expect(errors.filter((e) => e.kind === 'server-error')).toEqual([]);
    session.logBatch({ epoch: 0, batchIdx: 0, loss: 1 });
    expect(await session.flush(5000)).toBe(true);
    expect(session.stats().connected).toBe(true);
    expect(server.registrations).toHaveLength(1);
  });
});

import { connect, type Settings } from 'node:http2';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import type { ClientReadableStream } from '@grpc/grpc-js';
import { CommandType, MetricsRequestSchema, SendCommandRequestSchema } from '@trainwatch/proto';
import { waitFor } from '@trainwatch/testing';
import { asBuffer, identity, rawClient, sessionMetadata } from '../common/grpc-raw';
import { jpegSet } from '../common/jpeg-payloads';
import { LoadTrainer } from '../common/load-trainer';
import type { Target } from '../common/targets';
import { encodeImagePart, PATHS } from '../common/wire';
import {
  RELAY_RECEIVE_WINDOW_BYTES,
  RELAY_WATCHER_MAX_QUEUED_MESSAGES,
  startRelay,
  type Relay,
} from './relay-server';

describe('bare relay', () => {
  let relay: Relay;
  let target: Target;
  const imagePart = encodeImagePart(jpegSet(15 * 1024, 4));
  const clients: { close(): void }[] = [];

  beforeEach(async () => {
    relay = await startRelay(0);
    target = {
      kind: 'relay',
      pid: process.pid,
      grpcAddress: `127.0.0.1:${relay.port}`,
      output: () => '',
      stop: () => relay.close(),
      restart: () => Promise.resolve(),
    };
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await relay.close();
  });

  function watch(sessionId: string): { call: ClientReadableStream<Buffer>; received: Buffer[] } {
    const client = rawClient(target.grpcAddress);
    clients.push(client);
    const call: ClientReadableStream<Buffer> = client.makeServerStreamRequest(
      PATHS.watchSession,
      asBuffer,
      identity,
      Buffer.alloc(0),
      sessionMetadata(sessionId),
    );
    call.on('error', () => undefined);
    const received: Buffer[] = [];
    call.on('data', (bytes: Buffer) => received.push(bytes));
    return { call, received };
  }

  it("forwards every message unchanged to the session's watchers and acks each", async () => {
    const watcher = watch('a');
    const other = watch('b');
    await waitFor(() => relay.watcherCount('a') === 1 && relay.watcherCount('b') === 1, {
      what: 'watchers attached',
    });
    const trainer = new LoadTrainer(target, 'a', imagePart);
    await trainer.open();
    for (let i = 0; i < 20; i++) trainer.sendBatch();
    await waitFor(() => trainer.acked === 21 && watcher.received.length === 21, {
      what: 'acks and forwards',
    });
    const last = fromBinary(MetricsRequestSchema, watcher.received.at(-1) ?? Buffer.alloc(0));
    expect(last.payload.case === 'batchData' && last.payload.value.batchIdx).toBe(19);
    expect(other.received).toHaveLength(0);
    await trainer.close();
  });

  it(`drops messages for a watcher with ${RELAY_WATCHER_MAX_QUEUED_MESSAGES} queued, and only for it`, async () => {
    const stalled = watch('s');
    const fast = watch('s');
    stalled.call.pause();
    await waitFor(() => relay.watcherCount('s') === 2, { what: 'watchers attached' });
    const trainer = new LoadTrainer(target, 's', imagePart);
    await trainer.open();
    const total = RELAY_WATCHER_MAX_QUEUED_MESSAGES * 3;
    // Sent in rounds the fast watcher reads before the next: with a receive window as wide as the
    // product's (1 MiB) one burst of 768 × 60 KB outruns any reader, and the relay would rightly
    // drop for the fast watcher too. Paced, only the stalled watcher's queue can reach the bound.
    const round = 32;
    for (let sent = 0; sent < total;) {
      for (const last = Math.min(total, sent + round); sent < last;) {
        trainer.sendBatch();
        sent++;
      }
      // The trainer's opening message is forwarded too: one more than the batches sent.
      await waitFor(() => fast.received.length >= sent + 1, {
        timeoutMs: 20_000,
        what: `the fast watcher to get batch ${sent}`,
      });
    }
    await waitFor(() => trainer.acked === total + 1, {
      timeoutMs: 20_000,
      what: 'every batch acked',
    });
    // Every message reached the fast watcher, so every drop was the stalled one's.
    expect(fast.received).toHaveLength(total + 1);
    expect(relay.stats.droppedForSlowWatchers).toBeGreaterThan(0);
    expect(relay.stats.droppedForSlowWatchers).toBeLessThanOrEqual(
      total - RELAY_WATCHER_MAX_QUEUED_MESSAGES,
    );
    await trainer.close();
  }, 30_000);

  it("opens the product's receive window (1 MiB), not HTTP/2's 64 KB, so both sides are compared like with like", async () => {
    const session = connect(`http://${target.grpcAddress}`);
    try {
      const settings = await new Promise<Settings>((resolve, reject) => {
        session.once('remoteSettings', resolve);
        session.once('error', reject);
      });
      expect(RELAY_RECEIVE_WINDOW_BYTES).toBe(1024 * 1024);
      expect(settings.initialWindowSize).toBe(RELAY_RECEIVE_WINDOW_BYTES);
      // The connection window grows by the relay's WINDOW_UPDATE, which follows its SETTINGS.
      await waitFor(() => (session.state.remoteWindowSize ?? 0) >= RELAY_RECEIVE_WINDOW_BYTES, {
        timeoutMs: 5000,
        what: `a connection window of ${RELAY_RECEIVE_WINDOW_BYTES} bytes`,
      });
    } finally {
      session.close();
    }
  });

  it('routes a command to the trainer and answers when its result passes', async () => {
    const trainer = new LoadTrainer(target, 'c', imagePart);
    await trainer.open();
    const client = rawClient(target.grpcAddress);
    clients.push(client);
    const request = toBinary(
      SendCommandRequestSchema,
      create(SendCommandRequestSchema, { sessionId: 'c', type: CommandType.PAUSE }),
    );
    await new Promise<void>((resolve, reject) =>
      client.makeUnaryRequest(
        PATHS.sendCommand,
        asBuffer,
        identity,
        asBuffer(request),
        sessionMetadata('c'),
        (error) => (error ? reject(error) : resolve()),
      ),
    );
    expect(trainer.commandsAnswered).toBe(1);
    await trainer.close();
  });
});

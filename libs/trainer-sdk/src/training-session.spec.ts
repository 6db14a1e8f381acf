import { TrainingSession, type TrainingSessionOptions } from './index';

const base: TrainingSessionOptions = {
  address: '127.0.0.1:1',
  config: { totalEpochs: 1, batchesPerEpoch: 1, batchSize: 1 },
  connectTimeoutMs: 0,
};

describe('TrainingSession options', () => {
  it.each([
    [
      { config: { totalEpochs: 0, batchesPerEpoch: 1, batchSize: 1 } },
      /config.totalEpochs must be an integer >= 1, got 0/,
    ],
    [{ config: { totalEpochs: 1, batchesPerEpoch: 1.5, batchSize: 1 } }, /config.batchesPerEpoch/],
    [{ sessionId: 'has space' }, /sessionId must be 1-128 characters/],
    [{ clientName: 'x'.repeat(129) }, /clientName/],
    [{ bufferSize: 0 }, /bufferSize must be an integer >= 1/],
    [{ reconnect: { initialDelayMs: -1 } }, /reconnect.initialDelayMs/],
  ])('rejects %j before connecting, naming the field', async (override, message) => {
    await expect(TrainingSession.connect({ ...base, ...override })).rejects.toThrow(message);
  });

  it('rejects a malformed batch index from the loop, and nothing else', async () => {
    const session = await TrainingSession.connect(base);
    expect(() => session.logBatch({ epoch: -1, batchIdx: 0, loss: 1 })).toThrow(
      /epoch must be an integer >= 0, got -1/,
    );
    expect(() => session.logBatch({ epoch: 0, batchIdx: 0.5, loss: 1 })).toThrow(TypeError);
    // A non-finite loss is the server's call (it answers with an error naming the batch).
    expect(() => session.logBatch({ epoch: 0, batchIdx: 0, loss: Number.NaN })).not.toThrow();
    await session.close({ flushTimeoutMs: 0 });
  });

  it.each([
    ['epoch', { epoch: Number.NaN, batchIdx: 0 }, /epoch must be an integer >= 0, got NaN/],
    ['epoch', { epoch: Infinity, batchIdx: 0 }, /epoch must be an integer >= 0, got Infinity/],
    ['epoch', { epoch: '1' as unknown as number, batchIdx: 0 }, /epoch must be an integer >= 0/],
    ['batchIdx', { epoch: 0, batchIdx: -0.5 }, /batchIdx must be an integer >= 0, got -0.5/],
    ['batchIdx', { epoch: 0, batchIdx: 2 ** 32 + 0.5 }, /batchIdx must be an integer >= 0/],
  ])('throws for a malformed %s past the quick check: %j', async (_field, indexes, message) => {
    const session = await TrainingSession.connect(base);
    expect(() => session.logBatch({ ...indexes, loss: 1 })).toThrow(message);
    // Integers the quick check leaves to the full one are still accepted.
    expect(() => session.logBatch({ epoch: 2 ** 32, batchIdx: -0, loss: 1 })).not.toThrow();
    await session.close({ flushTimeoutMs: 0 });
  });
});

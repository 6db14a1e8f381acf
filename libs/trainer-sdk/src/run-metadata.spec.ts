import { RunMetadataState } from './run-metadata';

describe('RunMetadataState', () => {
  it('turns plain values into the contract and merges later updates', () => {
    const state = new RunMetadataState();
    const first = state.update({
      hyperparameters: { lr: 0.01, optimizer: 'sgd', nesterov: true },
      tags: ['cifar10', 'baseline'],
      note: 'first try',
    });
    expect(first.problems).toEqual([]);
    expect(first.message.hyperparameters).toEqual({
      lr: { kind: { case: 'number', value: 0.01 } },
      optimizer: { kind: { case: 'text', value: 'sgd' } },
      nesterov: { kind: { case: 'flag', value: true } },
    });
    state.update({ hyperparameters: { lr: 0.001 }, tags: ['tuned', 'cifar10'] });
    const merged = state.merged();
    expect(merged.hyperparameters?.lr).toEqual({ kind: { case: 'number', value: 0.001 } });
    expect(merged.tags).toEqual(['cifar10', 'baseline', 'tuned']);
    expect(merged.note).toBe('first try');
    expect(merged.replaceTags).toBe(true);
    state.update({ tags: ['only'], replaceTags: true });
    expect(state.merged().tags).toEqual(['only']);
  });

  it('leaves out what breaks a rule and says why, keeping the rest', () => {
    const state = new RunMetadataState();
    const { message, problems } = state.update({
      hyperparameters: {
        lr: NaN,
        'bad name': 1,
        ['x'.repeat(200)]: 1,
        ok: 1,
        long: 'y'.repeat(2000),
      },
      tags: ['a,b', ' lead', 'fine'],
      note: 'n'.repeat(5000),
    });
    expect(Object.keys(message.hyperparameters ?? {})).toEqual(['ok']);
    expect(message.tags).toEqual(['fine']);
    expect(message.note).toBeUndefined();
    expect(problems).toEqual([
      'hyperparameter lr: NaN is not finite (the server refuses it)',
      expect.stringMatching(/^hyperparameter "bad name": a name must be 1-128 characters/),
      expect.stringMatching(/^hyperparameter "x+": a name must be/),
      'hyperparameter long: text of 2000 characters, at most 1024',
      expect.stringMatching(/^tag "a,b": a tag must be 1-64 characters, no comma/),
      expect.stringMatching(/^tag " lead": a tag must be/),
      'note of 5000 characters, at most 4096',
    ]);
  });

  it('holds at most 32 tags and 256 hyperparameters', () => {
    const state = new RunMetadataState();
    const tags = Array.from({ length: 40 }, (_, i) => `t${i}`);
    const hyperparameters = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`h${i}`, i]));
    const { problems } = state.update({ tags, hyperparameters });
    expect(state.merged().tags).toHaveLength(32);
    expect(Object.keys(state.merged().hyperparameters ?? {})).toHaveLength(256);
    expect(problems).toHaveLength(8 + 44);
  });
});

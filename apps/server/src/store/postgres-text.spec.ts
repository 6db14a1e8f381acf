import type { PoolClient } from 'pg';
import { keepTextStorable, NUL_REPLACEMENT, storableParameter } from './postgres-text';

describe('storableParameter', () => {
  it('replaces U+0000 in strings, also inside arrays, and leaves everything else as it is', () => {
    expect(storableParameter('a\u0000b\u0000')).toBe(`a${NUL_REPLACEMENT}b${NUL_REPLACEMENT}`);
    const plain = ['a', 'b'];
    expect(storableParameter(plain)).toBe(plain);
    expect(storableParameter(['a', ['\u0000']])).toEqual(['a', [NUL_REPLACEMENT]]);
    const bytes = Buffer.from([0, 1, 0]);
    expect(storableParameter(bytes)).toBe(bytes);
    expect(storableParameter(12)).toBe(12);
    expect(storableParameter(null)).toBeNull();
  });
});

describe('keepTextStorable', () => {
  it('changes the values of both query forms, and hands the same array on when nothing changes', () => {
    const calls: unknown[][] = [];
    class FakeClient {
      query(...args: unknown[]) {
        calls.push(args);
      }
    }
    const client = new FakeClient() as unknown as PoolClient;
    keepTextStorable(client);
    const clean = ['x', 1];
    void client.query('select $1, $2', clean);
    void client.query('select $1', ['x\u0000']);
    void client.query({ text: 'select $1', values: ['\u0000'] });
    expect(calls[0]?.[1]).toBe(clean);
    expect(calls[1]?.[1]).toEqual([`x${NUL_REPLACEMENT}`]);
    expect(calls[2]?.[0]).toEqual({ text: 'select $1', values: [NUL_REPLACEMENT] });
  });
});

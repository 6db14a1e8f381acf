import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SDK_VERSION, SUPPORTED_NODE } from './version';

describe('version', () => {
  it('matches package.json, which the build ships', () => {
    const manifest = JSON.parse(readFileSync(join(__dirname, '../package.json'), 'utf8')) as {
      version: string;
      engines: { node: string };
    };
    expect(SDK_VERSION).toBe(manifest.version);
    expect(SUPPORTED_NODE).toBe(manifest.engines.node);
  });
});

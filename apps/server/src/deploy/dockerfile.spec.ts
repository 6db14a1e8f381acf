/**
 * deploy/Dockerfile cannot be built here (no Docker engine), so it is checked by reading it: the
 * base image, non-root final stages, production-only dependencies, that the Nx projects and build
 * outputs it names are real, and its HEALTHCHECK is run against a real server process.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServerProcess } from '@trainwatch/testing';
import { DEFAULT_GRPC_PORT, DEFAULT_HTTP_PORT } from '../config/server-config';

const ROOT = join(__dirname, '../../../..');

interface Instruction {
  keyword: string;
  args: string;
}
interface Stage {
  name: string;
  base: string;
  instructions: Instruction[];
}

/** Splits a Dockerfile into stages of instructions (continuations joined, comments dropped). */
function parseDockerfile(text: string): { args: Record<string, string>; stages: Stage[] } {
  const logical = text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const line of logical) {
    const [, keyword = '', rest = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const instruction = { keyword: keyword.toUpperCase(), args: rest };
    if (instruction.keyword === 'FROM') {
      const [image = '', , name = ''] = rest.split(/\s+/);
      const base = image.replace(/\$\{(\w+)\}/g, (_, arg: string) => args[arg] ?? '');
      stages.push({ name, base, instructions: [] });
    } else if (stages.length === 0 && instruction.keyword === 'ARG') {
      const [name = '', value = ''] = rest.split('=');
      args[name] = value;
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return { args, stages };
}

const dockerfile = parseDockerfile(readFileSync(join(ROOT, 'deploy/Dockerfile'), 'utf8'));
const stage = (name: string): Stage => {
  const found = dockerfile.stages.find((s) => s.name === name);
  if (!found) throw new Error(`deploy/Dockerfile has no stage ${name}`);
  return found;
};
const all = (s: Stage, keyword: string) => s.instructions.filter((i) => i.keyword === keyword);
const last = (s: Stage, keyword: string) => all(s, keyword).at(-1)?.args;
const json = (args: string | undefined) => JSON.parse(args ?? 'null') as string[];

/** Every Nx project in the workspace, by name, read from its project.json. */
const projects = new Map<string, { targets?: Record<string, { outputs?: string[] }> }>();
for (const group of ['apps', 'libs']) {
  for (const dir of readdirSync(join(ROOT, group))) {
    const file = join(ROOT, group, dir, 'project.json');
    if (!existsSync(file)) continue;
    const project = JSON.parse(readFileSync(file, 'utf8')) as {
      name: string;
      targets?: Record<string, { outputs?: string[] }>;
    };
    projects.set(project.name, project);
  }
}

const FINAL_STAGES = {
  server: 'dist/apps/server/main.js',
  'trainer-sim': 'dist/apps/trainer-sim/main.js',
};

describe('deploy/Dockerfile', () => {
  it('builds on a slim Node image no older than the workspace supports', () => {
    const engines = (
      JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } }
    ).engines.node;
    const minimumMajor = Number(/\d+/.exec(engines)?.[0]);
    const names = dockerfile.stages.map((s) => s.name);
    for (const { base } of dockerfile.stages) {
      if (names.includes(base)) continue;
      expect(base).toMatch(/^node:\d+[\w.-]*-slim$/);
      expect(Number(/^node:(\d+)/.exec(base)?.[1])).toBeGreaterThanOrEqual(minimumMajor);
    }
  });

  it.each(Object.entries(FINAL_STAGES))('%s runs as a non-root user', (name) => {
    const user = last(stage(name), 'USER');
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user?.split(':')[0]);
  });

  it.each(Object.entries(FINAL_STAGES))('%s holds production dependencies only', (name) => {
    const final = stage(name);
    expect(
      all(final, 'RUN')
        .map((i) => i.args)
        .join('\n'),
    ).not.toMatch(/npm (ci|install)/);
    const nodeModules = all(final, 'COPY').filter((i) => /node_modules/.test(i.args));
    expect(nodeModules).toHaveLength(1);
    const from = /--from=(\S+)/.exec(nodeModules[0]!.args)?.[1] ?? '';
    const installs = all(stage(from), 'RUN').filter((i) => /npm ci/.test(i.args));
    expect(installs.length).toBeGreaterThan(0);
    for (const install of installs) expect(install.args).toMatch(/--omit=dev/);
  });

  it.each(Object.entries(FINAL_STAGES))(
    '%s runs a file the Nx build of a real project produces',
    (name, entry) => {
      const final = stage(name);
      const command = [...json(last(final, 'ENTRYPOINT') ?? '[]'), ...json(last(final, 'CMD'))];
      expect(command).toContain(entry);
      const dist = all(final, 'COPY').find((i) => /\bdist\b/.test(i.args));
      const builder = stage(/--from=(\S+)/.exec(dist?.args ?? '')?.[1] ?? '');
      const built = all(builder, 'RUN').flatMap(
        (i) => /nx run-many -t build -p (\S+)/.exec(i.args)?.[1]?.split(',') ?? [],
      );
      const owner = built.find((project) =>
        projects
          .get(project)
          ?.targets?.['build']?.outputs?.some((out) =>
            entry.startsWith(out.replace('{workspaceRoot}/', '')),
          ),
      );
      expect(owner).toBe(name);
    },
  );

  it('builds the SPA alongside the server, where the server looks for it by default', () => {
    const run = all(stage('build-server'), 'RUN')
      .map((i) => i.args)
      .join('\n');
    const built = /nx run-many -t build -p (\S+)/.exec(run)?.[1]?.split(',') ?? [];
    expect(built).toEqual(expect.arrayContaining(['server', 'web']));
    expect(projects.get('web')?.targets?.['build']?.outputs).toContain(
      '{workspaceRoot}/dist/apps/web',
    );
  });

  it('the server build really produces the entry point the image runs', () => {
    // The server's test target builds the server first, so this is the real build output.
    expect(existsSync(join(ROOT, FINAL_STAGES.server))).toBe(true);
  });

  it("exposes the server's default ports", () => {
    const exposed = all(stage('server'), 'EXPOSE').flatMap((i) => i.args.split(/\s+/).map(Number));
    expect(new Set(exposed)).toEqual(new Set([DEFAULT_GRPC_PORT, DEFAULT_HTTP_PORT]));
  });

  it('keeps local installs and build output out of the build context', () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim());
    expect(ignored).toEqual(expect.arrayContaining(['**/node_modules', 'dist', '.git']));
  });

  it('HEALTHCHECK needs no curl, passes against a running server and fails once it stops', async () => {
    const healthcheck = last(stage('server'), 'HEALTHCHECK') ?? '';
    const command = json(/CMD\s+(\[.*\])$/.exec(healthcheck)?.[1]);
    expect(command.join(' ')).not.toMatch(/\b(curl|wget)\b/);
    const run = (env: Record<string, string>) =>
      new Promise<number>((resolve) => {
        const [file, ...args] = command;
        execFile(file!, args, { env: { ...process.env, ...env }, timeout: 10_000 }, (error) =>
          resolve(error ? (typeof error.code === 'number' ? error.code : 1) : 0),
        );
      });
    const running = await startServerProcess();
    const env = { HTTP_PORT: String(running.httpPort) };
    try {
      // The SPA fallback answers 200 to unknown paths too: make sure this is the health report.
      const path = /'(\/[^']*)'/.exec(command.join(' '))?.[1];
      expect(await (await fetch(`${running.httpUrl}${path}`)).json()).toMatchObject({
        status: 'ok',
      });
      expect(await run(env)).toBe(0);
    } finally {
      await running.kill();
    }
    expect(await run(env)).not.toBe(0);
  });
});

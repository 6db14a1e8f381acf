/**
 * deploy/Dockerfile cannot be built here (no Docker engine), so it is checked by reading it: the
 * base image, non-root final stages, production-only dependencies, the native addon built where the
 * compilers are and nowhere else, a DATA_DIR the runtime user can write, that the Nx projects and
 * build outputs it names are real, and its HEALTHCHECK is run against a real server process.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServerProcess } from '@trainwatch/testing';
import { DEFAULT_GRPC_PORT, DEFAULT_HTTP_PORT, loadServerConfig } from '../config/server-config';

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

/** ENV instructions of a stage, as name → value (`ENV A=1 B=2` form). */
function envOf(s: Stage): Record<string, string> {
  return Object.fromEntries(
    all(s, 'ENV').flatMap((i) =>
      [...i.args.matchAll(/(\w+)=("[^"]*"|\S*)/g)].map(([, k, v]) => [
        k!,
        v!.replace(/^"|"$/g, ''),
      ]),
    ),
  );
}
/** Runs of a stage that install a compiler or interpreter a native build needs. */
const installsBuildTools = (s: Stage) =>
  all(s, 'RUN').filter(
    (i) =>
      /\b(apt-get|apt|apk)\b[^&|;]*\binstall\b/.test(i.args) &&
      /\b(g\+\+|gcc|make|python3?|build-essential|clang)\b/.test(i.args),
  );

const packageJson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  allowScripts?: Record<string, boolean>;
};
/** Dependencies whose install scripts the workspace allows: the native addons the image must build. */
const nativeAddons = Object.entries(packageJson.allowScripts ?? {})
  .filter(([name, allowed]) => allowed && name in packageJson.dependencies)
  .map(([name]) => name);

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

  describe('native addons (better-sqlite3, the SQLite store)', () => {
    const prodDeps = stage('prod-deps');
    const runs = all(prodDeps, 'RUN').map((i) => i.args);

    it('are the production dependencies whose install scripts the workspace allows', () => {
      expect(nativeAddons).toContain('better-sqlite3');
      for (const name of nativeAddons) {
        // node-gyp builds from the package's binding.gyp, which must be what it installs.
        const dir = join(ROOT, 'node_modules', name);
        expect(existsSync(join(dir, 'binding.gyp'))).toBe(true);
        const { scripts } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
          scripts?: { install?: string };
        };
        expect(scripts?.install).toMatch(/node-gyp rebuild/);
      }
    });

    it("are built in prod-deps, after its install, against the image's own Node headers", () => {
      const install = runs.findIndex((r) => /npm ci\b/.test(r));
      expect(runs[install]).toMatch(/--ignore-scripts/);
      for (const name of nativeAddons) {
        const rebuild = runs.findIndex((r) => new RegExp(`npm rebuild [^&]*\\b${name}\\b`).test(r));
        expect(rebuild).toBeGreaterThan(install);
        // The official Node image ships its headers under /usr/local/include/node; without this
        // node-gyp would download them. The workspace .npmrc (nodedir=/usr) is not in this stage.
        expect(runs[rebuild]).toMatch(/npm_config_nodedir=\/usr\/local\b/);
        // Compile, never fetch a prebuilt binary: the compilers are here for exactly this.
        expect(runs[rebuild]).toMatch(/npm_config_build_from_source=true/);
        // And load it, so a broken build fails the image build.
        expect(runs[rebuild]).toContain(`require('${name}')`);
      }
      expect(all(prodDeps, 'COPY').map((i) => i.args)).not.toContainEqual(
        expect.stringMatching(/\.npmrc/),
      );
    });

    it('get their compilers in prod-deps only, after which the stage is not built upon', () => {
      expect(installsBuildTools(prodDeps)).toHaveLength(1);
      const tools = installsBuildTools(prodDeps)[0]!.args;
      for (const tool of ['python3', 'make', 'g++']) expect(tools.split(/\s+/)).toContain(tool);
      for (const other of dockerfile.stages.filter((s) => s !== prodDeps)) {
        expect(installsBuildTools(other)).toEqual([]);
        expect(other.base).not.toBe('prod-deps');
      }
    });

    it.each(Object.keys(FINAL_STAGES))(
      '%s has no compiler: it copies node_modules alone from prod-deps, on the same base',
      (name) => {
        const final = stage(name);
        expect(final.base).toBe(prodDeps.base);
        for (const copy of all(final, 'COPY').filter((i) => /--from=prod-deps\b/.test(i.args))) {
          expect(copy.args).toMatch(/^--from=prod-deps \/app\/node_modules \S+$/);
        }
      },
    );
  });

  describe("the server's DATA_DIR (SQLite when DATABASE_URL is not set)", () => {
    const server = stage('server');
    const dataDir = envOf(server)['DATA_DIR'] ?? '';
    const user = last(server, 'USER')?.split(':')[0] ?? '';
    const index = (keyword: string, pattern: RegExp) =>
      server.instructions.findIndex((i) => i.keyword === keyword && pattern.test(i.args));
    const escaped = dataDir.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

    it('is an absolute path the settings loader accepts', () => {
      expect(dataDir).toMatch(/^\/\w/);
      expect(loadServerConfig({ DATA_DIR: dataDir }).dataDir).toBe(dataDir);
    });

    it('is created and owned by the runtime user, then declared a volume, before USER', () => {
      const mkdir = index('RUN', new RegExp(`mkdir -p ${escaped}(\\s|$)`));
      const chown = index('RUN', new RegExp(`chown (-R )?${user}(:${user})? ${escaped}(\\s|$)`));
      const volume = index('VOLUME', new RegExp(`^(\\[")?${escaped}("\\])?$`));
      const switchUser = server.instructions.findLastIndex((i) => i.keyword === 'USER');
      expect(mkdir).toBeGreaterThanOrEqual(0);
      expect(chown).toBeGreaterThanOrEqual(mkdir);
      // Changes to a directory after VOLUME declares it are discarded by the builder.
      expect(volume).toBeGreaterThan(chown);
      expect(switchUser).toBeGreaterThan(volume);
      expect(user).toBe('node');
    });
  });

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

/**
 * docker-compose.yml cannot be run here (no Docker engine), so it is checked by reading it and by
 * running what can run: every build input exists, the server gets only settings it reads, ports
 * line up with envoy.yaml and the server's config, the server's DATABASE_URL names the postgres
 * service and its credentials, its NATS_URL the nats service, and the health check commands
 * themselves are executed (the server's against a real server process, PostgreSQL's against a real
 * PostgreSQL, NATS's against nats-server started with the compose command and deploy/nats.conf).
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  canConnect,
  findNatsServer,
  freePort,
  startPostgres,
  startServerProcess,
  waitFor,
} from '@trainwatch/testing';
import { parse } from 'yaml';
import { loadServerConfig, SERVER_ENV_VARS } from '../config/server-config';

const ROOT = join(__dirname, '../../../..');

// Only the fields of the compose file and of envoy.yaml these checks read.
interface Service {
  image?: string;
  build?: { context: string; dockerfile?: string; target?: string };
  command?: string[];
  environment?: Record<string, string> | string[];
  expose?: string[];
  ports?: string[];
  volumes?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  restart?: string;
  stop_grace_period?: string;
  profiles?: string[];
  deploy?: { replicas?: number };
  container_name?: string;
}
interface Envoy {
  admin: { address: { socket_address: { port_value: number } } };
  static_resources: {
    listeners: {
      address: { socket_address: { port_value: number } };
      filter_chains: { filters: { typed_config: { route_config?: unknown } }[] }[];
    }[];
  };
}

const raw = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
// Parsed YAML has no static type; the interfaces above describe what is read.
const compose = parse(raw) as {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
};
const services = compose.services;
const envoy = parse(readFileSync(join(ROOT, 'envoy.yaml'), 'utf8')) as Envoy;

function envOf(service: Service | undefined): Record<string, string> {
  const environment = service?.environment;
  if (Array.isArray(environment)) {
    return Object.fromEntries(environment.map((entry) => entry.split(/=(.*)/s).slice(0, 2)));
  }
  return Object.fromEntries(Object.entries(environment ?? {}).map(([k, v]) => [k, String(v)]));
}
/** Compose duration (`15s`, `1m30s`, `500ms`) in milliseconds. */
function composeDurationMs(text: string | undefined): number {
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001 };
  const parts = [...(text ?? '').matchAll(/(\d+(?:\.\d+)?)(ms|us|h|m|s)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) {
    throw new Error(`not a compose duration: ${String(text)}`);
  }
  return parts.reduce((sum, [, value, unit]) => sum + Number(value) * units[unit!]!, 0);
}
/** Container side of a `host:container` port mapping. */
const containerPort = (mapping: string) => Number(mapping.split(':').pop()?.split('/')[0]);
/** What the shell sees after compose unescapes `$$`. */
const unescape = (arg: string) => arg.replaceAll('$$', '$');

/** `key: value` settings of a NATS config file (the flat subset deploy/nats.conf uses). */
function natsConfig(text: string): Record<string, string> {
  const entries = text
    .split('\n')
    .map((line) => /^\s*([a-z_]+)\s*[:=]\s*(\S+)\s*$/.exec(line))
    .flatMap((match) => (match ? [[match[1]!, match[2]!] as const] : []));
  return Object.fromEntries(entries);
}
/** Host and container side of a `./host:/container[:mode]` bind mount, by container path. */
function bindMount(service: Service | undefined, containerPath: string) {
  const mount = service?.volumes?.find((v) => v.split(':')[1] === containerPath);
  const [hostPath, , mode] = mount?.split(':') ?? [];
  return { hostPath: hostPath ?? '', mode };
}
/** The value after `flag` in a command line. */
const argAfter = (args: readonly string[], flag: string) => args[args.indexOf(flag) + 1];

/** Runs a compose/Dockerfile `CMD` health check; resolves with its exit code. */
function runCheck(test: string[], env: Record<string, string>): Promise<number> {
  expect(test[0]).toBe('CMD');
  const [command, ...args] = test.slice(1).map(unescape);
  return new Promise((resolve) => {
    execFile(command!, args, { env: { ...process.env, ...env }, timeout: 10_000 }, (error) =>
      resolve(error ? (typeof error.code === 'number' ? error.code : 1) : 0),
    );
  });
}

const server = services['server'];
const envoyService = services['envoy'];
const demo = services['demo'];
const postgres = services['postgres'];
const nats = services['nats'];
/** PostgreSQL's port; the official image listens on it and compose does not change it. */
const POSTGRES_PORT = 5432;
/** The official image's PGDATA (up to PostgreSQL 17): what its volume must hold. */
const POSTGRES_DATA = '/var/lib/postgresql/data';
const settings = loadServerConfig(envOf(server));
const listenerPorts = envoy.static_resources.listeners.map(
  (l) => l.address.socket_address.port_value,
);
const adminPort = envoy.admin.address.socket_address.port_value;

describe('docker-compose.yml', () => {
  it('builds every image from a context, Dockerfile and stage that exist', () => {
    const built = Object.values(services).filter((s) => s.build);
    expect(built.length).toBeGreaterThanOrEqual(2);
    for (const { build } of built) {
      const context = join(ROOT, build!.context);
      expect(statSync(context).isDirectory()).toBe(true);
      const dockerfile = join(context, build!.dockerfile ?? 'Dockerfile');
      const stages = [...readFileSync(dockerfile, 'utf8').matchAll(/^FROM\s+\S+\s+AS\s+(\S+)/gim)];
      expect(stages.map((m) => m[1])).toContain(build!.target);
    }
  });

  it('gives the server only variables it reads, with values it accepts', () => {
    const names = Object.keys(envOf(server));
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) expect(SERVER_ENV_VARS).toContain(name);
    expect(() => loadServerConfig(envOf(server))).not.toThrow();
  });

  it('exposes exactly the ports the server listens on, inside the network only', () => {
    expect(new Set(server?.expose?.map(Number))).toEqual(
      new Set([settings.grpcPort, settings.httpPort]),
    );
    expect(server?.ports).toBeUndefined();
  });

  it("publishes exactly Envoy's listener ports, never its admin port", () => {
    const published = envoyService?.ports?.map(containerPort) ?? [];
    expect(new Set(published)).toEqual(new Set(listenerPorts));
    expect(published).not.toContain(adminPort);
  });

  it('runs the pinned Envoy with the envoy.yaml these tests check', () => {
    expect(envoyService?.image).toBe('envoyproxy/envoy:v1.39.1');
    const mount = envoyService?.volumes?.find((v) => v.startsWith('./envoy.yaml:'));
    const [hostPath, containerPath, mode] = mount?.split(':') ?? [];
    expect(existsSync(join(ROOT, hostPath!))).toBe(true);
    expect(mode).toBe('ro');
    const command = envoyService?.command ?? [];
    expect(command[command.indexOf('-c') + 1]).toBe(containerPath);
  });

  it('gives the server longer to stop than its own shutdown bound', () => {
    expect(composeDurationMs(server?.stop_grace_period)).toBeGreaterThan(
      settings.shutdownTimeoutMs,
    );
  });

  it('restarts long-running services and starts dependents only once they are healthy', () => {
    for (const service of [server, envoyService, postgres, nats]) {
      expect(['always', 'unless-stopped', 'on-failure']).toContain(service?.restart);
    }
    for (const service of Object.values(services)) {
      for (const [name, { condition }] of Object.entries(service.depends_on ?? {})) {
        expect(condition).toBe('service_healthy');
        expect(services[name]?.healthcheck?.test.length).toBeGreaterThan(1);
      }
    }
  });

  it("runs the demo trainer only under the demo profile, against Envoy's trainer listener", () => {
    expect(demo?.profiles).toEqual(['demo']);
    for (const [name, service] of Object.entries(services)) {
      if (name !== 'demo') expect(service.profiles).toBeUndefined();
    }
    const args = demo?.command ?? [];
    const [host, port] = (args[args.indexOf('--server') + 1] ?? '').split(':');
    expect(host).toBe('envoy');
    const trainerListener = envoy.static_resources.listeners.find(
      (l) => l.address.socket_address.port_value === Number(port),
    );
    expect(JSON.stringify(trainerListener?.filter_chains)).toContain(
      '/telemetry.v1.TelemetryService/',
    );
    expect(envoyService?.ports?.map(containerPort)).toContain(Number(port));
  });

  it("keeps runs in the postgres service: the server's DATABASE_URL parses and names it", () => {
    expect(settings.storeEngine).toBe('postgres');
    const url = new URL(settings.databaseUrl);
    expect(url.protocol).toMatch(/^postgres(ql)?:$/);
    expect(services[url.hostname]).toBe(postgres);
    expect(Number(url.port || POSTGRES_PORT)).toBe(POSTGRES_PORT);
    expect(postgres?.expose?.map(Number)).toEqual([POSTGRES_PORT]);
    const pg = envOf(postgres);
    expect(decodeURIComponent(url.username)).toBe(pg['POSTGRES_USER']);
    expect(decodeURIComponent(url.password)).toBe(pg['POSTGRES_PASSWORD']);
    expect(decodeURIComponent(url.pathname.slice(1))).toBe(pg['POSTGRES_DB']);
    expect(server?.depends_on?.['postgres']?.condition).toBe('service_healthy');
  });

  it('runs a pinned PostgreSQL 15 with its data in a named volume, never published', () => {
    expect(postgres?.image).toMatch(/^postgres:15(\.\d+)?-bookworm$/);
    expect(postgres?.ports).toBeUndefined();
    const mount = postgres?.volumes?.find((v) => v.split(':')[1] === POSTGRES_DATA);
    const volume = mount?.split(':')[0] ?? '';
    // A name, not a path: a named volume declared at the top level.
    expect(volume).toMatch(/^[a-z0-9][\w.-]*$/);
    expect(Object.keys(compose.volumes ?? {})).toContain(volume);
  });

  it('keeps image frames in one named volume every replica mounts at FRAMES_DIR, a folder the image gives its user', () => {
    const framesDir = settings.framesDir;
    expect(framesDir).toMatch(/^\/\w/);
    const volume = server?.volumes?.find((v) => v.split(':')[1] === framesDir)?.split(':')[0] ?? '';
    expect(volume).toMatch(/^[a-z0-9][\w.-]*$/);
    expect(Object.keys(compose.volumes ?? {})).toContain(volume);
    // A new named volume takes the owner of the image's directory it is mounted on.
    const dockerfile = readFileSync(join(ROOT, 'deploy/Dockerfile'), 'utf8');
    const stage = dockerfile.slice(dockerfile.indexOf('AS server'));
    const created = stage.split('\n').find((line) => /^RUN mkdir -p /.test(line)) ?? '';
    expect(created.split(/\s+/)).toContain(framesDir);
    expect(created).toMatch(new RegExp(`chown node:node .*${framesDir}(\\s|$)`));
    expect(stage.indexOf(created)).toBeLessThan(stage.lastIndexOf('\nUSER node'));
  });

  it('runs several server replicas, none tied to a container name or a host port', () => {
    // Three by default; `--scale server=N` changes it. Envoy finds them all by DNS.
    expect(server?.deploy?.replicas).toBe(3);
    expect(server?.container_name).toBeUndefined();
    expect(server?.ports).toBeUndefined();
  });

  describe('nats', () => {
    const command = nats?.command ?? [];
    const configPath = argAfter(command, '--config') ?? '';
    const configMount = bindMount(nats, configPath);
    const conf = natsConfig(readFileSync(join(ROOT, configMount.hostPath), 'utf8'));
    const storeDir = argAfter(command, '-sd') ?? '';

    it("is what the server's NATS_URL names, on the client port nats.conf sets", () => {
      const url = new URL(settings.natsUrl);
      expect(url.protocol).toBe('nats:');
      expect(services[url.hostname]).toBe(nats);
      expect(url.port).toBe(conf['port']);
      expect(new Set(nats?.expose)).toEqual(new Set([conf['port'], conf['http_port']]));
      expect(nats?.ports).toBeUndefined();
      expect(server?.depends_on?.['nats']?.condition).toBe('service_healthy');
    });

    it('runs a pinned NATS 2.9 (alpine) with JetStream files in a named volume and nats.conf read-only', () => {
      expect(nats?.image).toMatch(/^nats:2\.9\.\d+-alpine$/);
      expect(command[0]).toBe('nats-server');
      expect(command).toContain('-js');
      expect(configMount.mode).toBe('ro');
      const volume = nats?.volumes?.find((v) => v.split(':')[1] === storeDir)?.split(':')[0] ?? '';
      expect(volume).toMatch(/^[a-z0-9][\w.-]*$/);
      expect(Object.keys(compose.volumes ?? {})).toContain(volume);
    });

    it('health check: passes against nats-server run with this command and nats.conf, fails once it stops', async () => {
      const binary = findNatsServer();
      if (binary === undefined)
        throw new Error('nats-server is not installed (apt-get install nats-server)');
      const test = nats?.healthcheck?.test ?? [];
      // Busybox wget in the alpine image; the same flags work with GNU wget here.
      expect(test.slice(0, 2)).toEqual(['CMD', 'wget']);
      const url = new URL(test.at(-1) ?? '');
      expect(url.port).toBe(conf['http_port']);
      expect(url.pathname).toBe('/healthz');
      expect(url.searchParams.get('js-enabled-only')).toBe('true');

      // The compose command, with this checkout's nats.conf, a throwaway store and free ports.
      const clientPort = await freePort();
      const monitorPort = await freePort();
      const store = mkdtempSync(join(tmpdir(), 'trainwatch-compose-nats-'));
      const args = command
        .slice(1)
        .map((arg) =>
          arg === configPath ? join(ROOT, configMount.hostPath) : arg === storeDir ? store : arg,
        );
      args.push('-a', '127.0.0.1', '-p', String(clientPort), '-m', String(monitorPort));
      const child = spawn(binary, args, { stdio: 'ignore' });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      const localTest = test.map((arg) =>
        arg === url.href ? arg.replace(`:${url.port}/`, `:${monitorPort}/`) : arg,
      );
      try {
        await waitFor(() => canConnect(clientPort), { what: `nats-server on ${clientPort}` });
        await waitFor(async () => (await runCheck(localTest, {})) === 0, {
          what: 'the nats health check to pass',
        });
        // A snapshot (up to 4 MiB) must fit in one message.
        const varz = (await (await fetch(`http://127.0.0.1:${monitorPort}/varz`)).json()) as {
          max_payload: number;
          jetstream?: { config?: { store_dir?: string } };
        };
        expect(varz.max_payload).toBeGreaterThanOrEqual(8 * 1024 * 1024);
        expect(varz.jetstream?.config?.store_dir).toContain(store);
      } finally {
        child.kill('SIGKILL');
        await exited;
        rmSync(store, { recursive: true, force: true });
      }
      expect(await runCheck(localTest, {})).not.toBe(0);
    });
  });

  it('writes every literal dollar sign as $$ so compose does not interpolate it', () => {
    expect(raw.replaceAll('$$', '')).not.toContain('$');
  });

  it('server health check: passes against a running server, fails once it stops', async () => {
    const test = server?.healthcheck?.test ?? [];
    expect(test.join(' ')).not.toMatch(/\b(curl|wget)\b/);
    const running = await startServerProcess();
    const env = { HTTP_PORT: String(running.httpPort) };
    try {
      // The SPA fallback answers 200 to unknown paths too: make sure this is the health report.
      const path = /'(\/[^']*)'/.exec(test.join(' '))?.[1];
      expect(await (await fetch(`${running.httpUrl}${path}`)).json()).toMatchObject({
        status: 'ok',
      });
      expect(await runCheck(test, env)).toBe(0);
    } finally {
      await running.kill();
    }
    expect(await runCheck(test, env)).not.toBe(0);
  });

  it('postgres health check: passes against a running PostgreSQL, fails once it stops', async () => {
    const test = postgres?.healthcheck?.test ?? [];
    expect(test[1]).toBe('pg_isready');
    const option = (flag: string) => test[test.indexOf(flag) + 1];
    // TCP to the container's own loopback: the socket answers during initialisation too.
    expect(option('-h')).toBe('127.0.0.1');
    expect(option('-U')).toBe(envOf(postgres)['POSTGRES_USER']);
    expect(option('-d')).toBe(envOf(postgres)['POSTGRES_DB']);
    expect(test).not.toContain('-p');
    const running = await startPostgres();
    // The command names no port, so libpq's PGPORT points it at the test server.
    const env = { PGPORT: new URL(running.url).port };
    try {
      expect(await runCheck(test, env)).toBe(0);
      await running.stop();
      expect(await runCheck(test, env)).not.toBe(0);
    } finally {
      await running.destroy();
    }
  });

  describe('envoy health check', () => {
    // Envoy cannot run here: a stand-in answers /ready the way Envoy's admin interface does,
    // which proves the command (bash, no curl) speaks HTTP and reads the answer correctly.
    let admin: Server;
    let state = 'LIVE';
    const paths: string[] = [];
    beforeAll(async () => {
      admin = createServer((req, res) => {
        paths.push(req.url ?? '');
        res.writeHead(req.url === '/ready' && state === 'LIVE' ? 200 : 503).end(`${state}\n`);
      });
      await new Promise<void>((resolve) => admin.listen(0, '127.0.0.1', resolve));
    });
    afterAll(() => new Promise<void>((resolve) => admin.close(() => resolve())));

    it("reads ENVOY_ADMIN_PORT, which matches envoy.yaml's admin port", () => {
      expect(Number(envOf(envoyService)['ENVOY_ADMIN_PORT'])).toBe(adminPort);
    });

    it('passes when Envoy is LIVE and fails while it is not', async () => {
      const test = envoyService?.healthcheck?.test ?? [];
      const env = { ENVOY_ADMIN_PORT: String((admin.address() as AddressInfo).port) };
      state = 'LIVE';
      expect(await runCheck(test, env)).toBe(0);
      state = 'DRAINING';
      expect(await runCheck(test, env)).not.toBe(0);
      expect(paths).toEqual(['/ready', '/ready']);
    });
  });
});

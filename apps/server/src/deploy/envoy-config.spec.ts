/**
 * envoy.yaml cannot be run here (no Envoy binary), so it is checked by reading it: filter order,
 * stream-safe timeouts, CORS, clusters, and that what it points at is real: the compose service
 * name, the ports the server listens on given the compose environment, the contract's service
 * names, and the server's health endpoints (asked of a real server process).
 */
import * as grpc from '@grpc/grpc-js';
import { create } from '@bufbuild/protobuf';
import {
  AdminService,
  AuthService,
  DashboardService,
  Health,
  HealthCheckRequestSchema,
  HealthCheckResponse_ServingStatus,
  TelemetryService,
  toGrpcServiceDefinition,
  type HealthCheckRequest,
  type HealthCheckResponse,
} from '@trainwatch/proto';
import { startServerProcess, type ServerProcess } from '@trainwatch/testing';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadServerConfig } from '../config/server-config';

const ROOT = join(__dirname, '../../../..');

// Only the parts of Envoy's v3 bootstrap these checks read.
interface TypedConfig {
  '@type'?: string;
  [field: string]: unknown;
}
interface Filter {
  name: string;
  typed_config?: TypedConfig;
}
interface Route {
  name?: string;
  match: { prefix?: string; path?: string };
  route?: {
    cluster?: string;
    timeout?: string;
    max_stream_duration?: { max_stream_duration?: string; grpc_timeout_header_max?: string };
  };
  direct_response?: { status: number };
  typed_per_filter_config?: Record<string, TypedConfig>;
}
interface VirtualHost {
  typed_per_filter_config?: Record<string, TypedConfig>;
  routes: Route[];
}
interface Hcm {
  codec_type?: string;
  stream_idle_timeout?: string;
  access_log?: Filter[];
  http_filters: Filter[];
  route_config: { virtual_hosts: VirtualHost[] };
}
interface Listener {
  name: string;
  address: { socket_address: { address: string; port_value: number } };
  filter_chains: { filters: Filter[] }[];
}
interface HealthCheck {
  timeout?: string;
  interval?: string;
  unhealthy_threshold?: number;
  healthy_threshold?: number;
  grpc_health_check?: { service_name?: string };
  http_health_check?: { path?: string };
}
interface Cluster {
  name: string;
  type?: string;
  lb_policy?: string;
  dns_refresh_rate?: string;
  typed_extension_protocol_options?: Record<string, TypedConfig>;
  health_checks?: HealthCheck[];
  outlier_detection?: {
    split_external_local_origin_errors?: boolean;
    consecutive_local_origin_failure?: number;
    enforcing_consecutive_local_origin_failure?: number;
    enforcing_consecutive_5xx?: number;
    enforcing_success_rate?: number;
    max_ejection_percent?: number;
  };
  load_assignment: {
    endpoints: {
      lb_endpoints: {
        endpoint: { address: { socket_address: { address: string; port_value: number } } };
      }[];
    }[];
  };
}
interface EnvoyBootstrap {
  admin: { address: { socket_address: { address: string; port_value: number } } };
  static_resources: { listeners: Listener[]; clusters: Cluster[] };
}
interface ComposeFile {
  services: Record<
    string,
    { environment?: Record<string, string> | string[]; deploy?: { replicas?: number } }
  >;
}

type CheckMethod = (
  request: HealthCheckRequest,
  options: grpc.CallOptions,
  callback: (err: grpc.ServiceError | null, response: HealthCheckResponse) => void,
) => void;

/** Milliseconds in an Envoy duration such as `300s` or `0.25s`. */
function envoyDurationMs(text: string | undefined): number {
  const match = /^(\d+(?:\.\d+)?)s$/.exec(text ?? '');
  if (!match) throw new Error(`not an Envoy duration: ${String(text)}`);
  return Number(match[1]) * 1000;
}

function composeEnv(
  environment: Record<string, string> | string[] | undefined,
): Record<string, string> {
  if (Array.isArray(environment)) {
    return Object.fromEntries(environment.map((entry) => entry.split(/=(.*)/s).slice(0, 2)));
  }
  return Object.fromEntries(Object.entries(environment ?? {}).map(([k, v]) => [k, String(v)]));
}

// Parsed YAML has no static type; these interfaces describe the fields read below.
const envoy = parse(readFileSync(join(ROOT, 'envoy.yaml'), 'utf8')) as EnvoyBootstrap;
const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as ComposeFile;
const SERVER_SERVICE = 'server';
const settings = loadServerConfig(composeEnv(compose.services[SERVER_SERVICE]?.environment));

const listeners = envoy.static_resources.listeners;
const clusters = envoy.static_resources.clusters;

function hcmOf(listener: Listener): Hcm {
  const filter = listener.filter_chains[0]?.filters.find(
    (f) => f.name === 'envoy.filters.network.http_connection_manager',
  );
  if (!filter?.typed_config)
    throw new Error(`listener ${listener.name} has no HTTP connection manager`);
  return filter.typed_config as unknown as Hcm;
}
function routesOf(listener: Listener): Route[] {
  return hcmOf(listener).route_config.virtual_hosts.flatMap((host) => host.routes);
}
function clusterNamed(name: string | undefined): Cluster {
  const cluster = clusters.find((c) => c.name === name);
  if (!cluster) throw new Error(`no cluster named ${String(name)}`);
  return cluster;
}
function endpointsOf(cluster: Cluster): { address: string; port_value: number }[] {
  return cluster.load_assignment.endpoints.flatMap((group) =>
    group.lb_endpoints.map((lb) => lb.endpoint.address.socket_address),
  );
}
/** The listener whose route for `prefix` is what browsers/trainers reach. */
function routeFor(listener: Listener, prefix: string): Route {
  const route = routesOf(listener).find((r) => r.match.prefix === prefix);
  if (!route) throw new Error(`listener ${listener.name} has no route for ${prefix}`);
  return route;
}

const dashboardPrefix = `/${DashboardService.typeName}/`;
const telemetryPrefix = `/${TelemetryService.typeName}/`;
const browsers = listeners.find((l) => l.address.socket_address.port_value === 8080);
const trainers = listeners.find((l) => l.address.socket_address.port_value === 50051);

describe('envoy.yaml', () => {
  it('has a browser listener on :8080 and a trainer listener on :50051', () => {
    expect(browsers).toBeDefined();
    expect(trainers).toBeDefined();
  });

  it('runs grpc_web, cors and router, in that order, on the browser listener', () => {
    const filters = hcmOf(browsers!).http_filters;
    expect(filters.map((f) => f.name)).toEqual([
      'envoy.filters.http.grpc_web',
      'envoy.filters.http.cors',
      'envoy.filters.http.router',
    ]);
    expect(filters.map((f) => f.typed_config?.['@type'])).toEqual([
      'type.googleapis.com/envoy.extensions.filters.http.grpc_web.v3.GrpcWeb',
      'type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors',
      'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
    ]);
  });

  it('exposes only DashboardService to browsers over gRPC; the rest goes to the HTTP port', () => {
    const grpcCluster = routeFor(browsers!, dashboardPrefix).route?.cluster;
    const toGrpc = routesOf(browsers!).filter((r) => r.route?.cluster === grpcCluster);
    expect(toGrpc.map((r) => r.match)).toEqual([{ prefix: dashboardPrefix }]);
    expect(routeFor(browsers!, telemetryPrefix).direct_response?.status).toBe(404);
    const catchAll = routeFor(browsers!, '/');
    expect(endpointsOf(clusterNamed(catchAll.route?.cluster))[0]?.port_value).toBe(
      settings.httpPort,
    );
  });

  it("passes AuthService and AdminService to the server's own gRPC-Web handler, untranslated (the session cookie is set there)", () => {
    for (const service of [AuthService, AdminService]) {
      const route = routeFor(browsers!, `/${service.typeName}/`);
      expect(endpointsOf(clusterNamed(route.route?.cluster))[0]?.port_value).toBe(
        settings.httpPort,
      );
      expect(route.typed_per_filter_config?.['envoy.filters.http.grpc_web']).toEqual({
        '@type': 'type.googleapis.com/envoy.config.route.v3.FilterConfig',
        disabled: true,
      });
    }
  });

  it('exposes to browsers only methods gRPC-Web can carry (unary and server streaming)', () => {
    const kinds = new Set(DashboardService.methods.map((method) => method.methodKind));
    expect([...kinds].filter((kind) => kind !== 'unary' && kind !== 'server_streaming')).toEqual(
      [],
    );
  });

  it('routes TelemetryService on the trainer listener over HTTP/2', () => {
    const hcm = hcmOf(trainers!);
    expect(hcm.codec_type).toBe('HTTP2');
    const routes = routesOf(trainers!);
    expect(routes.map((r) => r.match)).toEqual([{ prefix: telemetryPrefix }]);
    expect(endpointsOf(clusterNamed(routes[0]?.route?.cluster))[0]?.port_value).toBe(
      settings.grpcPort,
    );
  });

  it('never cuts a gRPC stream by duration: route timeout 0s and no max stream duration', () => {
    const grpcRoutes = [routeFor(browsers!, dashboardPrefix), routeFor(trainers!, telemetryPrefix)];
    for (const route of grpcRoutes) {
      expect(envoyDurationMs(route.route?.timeout)).toBe(0);
      const max = route.route?.max_stream_duration;
      expect(envoyDurationMs(max?.max_stream_duration)).toBe(0);
      expect(envoyDurationMs(max?.grpc_timeout_header_max)).toBe(0);
    }
  });

  it('reaps idle streams only well after a session would be marked stale', () => {
    const staleAfterMs = settings.heartbeatIntervalMs * settings.staleAfterMissedHeartbeats;
    for (const listener of listeners) {
      expect(envoyDurationMs(hcmOf(listener).stream_idle_timeout)).toBeGreaterThan(staleAfterMs);
    }
  });

  it("allows the server's configured origins and exposes gRPC status headers to them", () => {
    const host = hcmOf(browsers!).route_config.virtual_hosts[0];
    const cors = host?.typed_per_filter_config?.['envoy.filters.http.cors'] as
      | {
          '@type': string;
          allow_origin_string_match: { exact?: string }[];
          allow_headers: string;
          expose_headers: string;
        }
      | undefined;
    expect(cors?.['@type']).toBe(
      'type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy',
    );
    const list = (text: string | undefined) => (text ?? '').split(',').map((h) => h.trim());
    // Exact origins only, and the same list the server itself enforces on its own HTTP port.
    expect(cors?.allow_origin_string_match.map((m) => m.exact)).toEqual(settings.corsOrigins);
    expect(list(cors?.expose_headers)).toEqual(
      expect.arrayContaining(['grpc-status', 'grpc-message', 'grpc-status-details-bin']),
    );
    expect(list(cors?.allow_headers)).toEqual(
      expect.arrayContaining(['content-type', 'x-grpc-web', 'x-user-agent', 'grpc-timeout']),
    );
  });

  it('sends every route to a cluster that exists, and every cluster is used', () => {
    const used = listeners.flatMap(routesOf).flatMap((r) => (r.route ? [r.route.cluster] : []));
    for (const name of used) expect(clusters.map((c) => c.name)).toContain(name);
    expect(new Set(used)).toEqual(new Set(clusters.map((c) => c.name)));
  });

  it('reaches the server through the compose service name on the ports it listens on', () => {
    expect(compose.services[SERVER_SERVICE]).toBeDefined();
    for (const cluster of clusters) {
      expect(cluster.type).toBe('STRICT_DNS');
      for (const endpoint of endpointsOf(cluster)) expect(endpoint.address).toBe(SERVER_SERVICE);
    }
    const grpcCluster = clusterNamed(routeFor(trainers!, telemetryPrefix).route?.cluster);
    expect(endpointsOf(grpcCluster).map((e) => e.port_value)).toEqual([settings.grpcPort]);
  });

  it('balances every cluster over all replicas of the server service, without stickiness', () => {
    // Several replicas behind one name: STRICT_DNS makes each resolved address an endpoint.
    expect(compose.services[SERVER_SERVICE]?.deploy?.replicas).toBeGreaterThan(1);
    for (const cluster of clusters) {
      expect(cluster.type).toBe('STRICT_DNS');
      expect(envoyDurationMs(cluster.dns_refresh_rate)).toBeLessThanOrEqual(10_000);
      // Any replica serves any watch and takes any trainer's lease: no hash-based policy needed.
      expect(['ROUND_ROBIN', 'LEAST_REQUEST']).toContain(cluster.lb_policy);
    }
    // Streams are long-lived: the gRPC cluster balances open streams, not opens.
    const grpcCluster = clusterNamed(routeFor(trainers!, telemetryPrefix).route?.cluster);
    expect(grpcCluster.lb_policy).toBe('LEAST_REQUEST');
  });

  it('checks every cluster actively and drops a replica within seconds of it going away', () => {
    for (const cluster of clusters) {
      const [check, ...more] = cluster.health_checks ?? [];
      expect(more).toEqual([]);
      expect(check?.grpc_health_check ?? check?.http_health_check).toBeDefined();
      // Down after unhealthy_threshold missed checks: well inside a replica lease (10 s by default
      // REPLICA_LEASE_TTL_MS), so reconnecting trainers stop landing on a dead replica quickly.
      const downAfterMs = envoyDurationMs(check?.interval) * (check?.unhealthy_threshold ?? 0);
      expect(downAfterMs).toBeGreaterThan(0);
      expect(downAfterMs).toBeLessThanOrEqual(settings.replicaLeaseTtlMs * 2);
      expect(envoyDurationMs(check?.timeout)).toBeLessThan(envoyDurationMs(check?.interval));
      // Passive ejection only for Envoy's own connection failures, never for the server's answers
      // (an UNAVAILABLE while the store is away is the same on every replica), and never all of them.
      const outlier = cluster.outlier_detection;
      expect(outlier?.split_external_local_origin_errors).toBe(true);
      expect(outlier?.consecutive_local_origin_failure).toBeGreaterThan(0);
      expect(outlier?.enforcing_consecutive_local_origin_failure).toBe(100);
      expect(outlier?.enforcing_consecutive_5xx).toBe(0);
      expect(outlier?.enforcing_success_rate).toBe(0);
      expect(outlier?.max_ejection_percent).toBeLessThan(100);
    }
  });

  it('speaks HTTP/2 with large flow-control windows to the gRPC upstream', () => {
    const grpcCluster = clusterNamed(routeFor(browsers!, dashboardPrefix).route?.cluster);
    const options = grpcCluster.typed_extension_protocol_options?.[
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions'
    ] as { explicit_http_config?: { http2_protocol_options?: Record<string, number> } } | undefined;
    const http2 = options?.explicit_http_config?.http2_protocol_options;
    expect(http2).toBeDefined();
    expect(http2?.['initial_stream_window_size']).toBeGreaterThanOrEqual(1024 * 1024);
    expect(http2?.['initial_connection_window_size']).toBeGreaterThanOrEqual(
      http2?.['initial_stream_window_size'] ?? Infinity,
    );
  });

  it('logs access to stdout and keeps the admin port off the published listeners', () => {
    for (const listener of listeners) {
      expect(hcmOf(listener).access_log?.map((log) => log.name)).toEqual([
        'envoy.access_loggers.stdout',
      ]);
      expect(listener.address.socket_address.port_value).not.toBe(
        envoy.admin.address.socket_address.port_value,
      );
    }
  });

  describe('health checks against a real server', () => {
    let server: ServerProcess;
    beforeAll(async () => {
      server = await startServerProcess();
    });
    afterAll(async () => {
      await server?.kill();
    });

    it('the gRPC cluster checks grpc.health.v1, and the server answers SERVING', async () => {
      const grpcCluster = clusterNamed(routeFor(trainers!, telemetryPrefix).route?.cluster);
      const check = grpcCluster.health_checks?.[0]?.grpc_health_check;
      expect(check).toBeDefined();
      const HealthClient = grpc.makeGenericClientConstructor(
        toGrpcServiceDefinition(Health),
        'Health',
      );
      const client = new HealthClient(server.grpcAddress, grpc.credentials.createInsecure());
      try {
        const request = create(HealthCheckRequestSchema, { service: check?.service_name ?? '' });
        // Generic grpc-js clients get their methods at runtime, keyed by the proto method name.
        const { Check } = client as unknown as { Check: CheckMethod };
        const response = await new Promise<HealthCheckResponse>((resolve, reject) => {
          Check.call(client, request, { deadline: Date.now() + 5000 }, (err, res) =>
            err ? reject(err) : resolve(res),
          );
        });
        expect(response.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
      } finally {
        client.close();
      }
    });

    it("every cluster's HTTP health check (if any) is a path the server answers on that cluster's port", async () => {
      for (const cluster of clusters) {
        const path = cluster.health_checks?.[0]?.http_health_check?.path;
        if (path === undefined) continue;
        expect(endpointsOf(cluster).map((e) => e.port_value)).toEqual([settings.httpPort]);
        const response = await fetch(`${server.httpUrl}${path}`);
        expect(response.status).toBe(200);
        expect(await response.json()).toMatchObject({ status: 'ok' });
      }
    });

    it('the HTTP cluster checks a path the server answers with 200', async () => {
      const httpCluster = clusterNamed(routeFor(browsers!, '/').route?.cluster);
      const path = httpCluster.health_checks?.[0]?.http_health_check?.path;
      const response = await fetch(`${server.httpUrl}${path}`);
      expect(response.status).toBe(200);
      // The SPA fallback answers 200 to unknown paths too: make sure this is the health report.
      expect(await response.json()).toMatchObject({ status: 'ok' });
    });
  });
});

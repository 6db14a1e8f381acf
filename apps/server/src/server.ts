import 'reflect-metadata';
import type { Server as HttpServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { ServerCredentials, type Server as GrpcServer } from '@grpc/grpc-js';
import type { INestApplication, LoggerService, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Transport, type GrpcOptions } from '@nestjs/microservices';
import {
  AdminService as AdminServiceDesc,
  AuthService as AuthServiceDesc,
  DashboardService as DashboardServiceDesc,
  Health,
  TelemetryService,
  toPackageDefinition,
  type PackageDefinition,
} from '@trainwatch/proto';
import { AppModule } from './app.module';
import { UserAdminService } from './auth/admin.service';
import { AuthService } from './auth/auth.service';
import { Authenticator } from './auth/authenticator';
import { CredentialWatch } from './auth/credential-watch';
import { guardGrpcServer } from './auth/grpc-auth';
import { errors } from './common/app-error';
import { AppExceptionFilter } from './common/app-exception.filter';
import { withCompatibilityPaths } from './common/compatibility-paths';
import { writePreFramedMessages } from './common/grpc-pre-framed';
import { widenReceiveWindows } from './common/grpc-flow-control';
import { answerUnknownMethods } from './common/grpc-unknown-method';
import { StartUpLogger } from './common/start-up-logger';
import { instrumentPackageDefinition } from './common/instrumented-definition';
import { waitForOpenCalls } from './common/open-calls';
import type { ServerSettings } from './config/server-config';
import { DashboardService } from './dashboard/dashboard.service';
import { FanOutService } from './fan-out/fan-out.service';
import { HealthService } from './health/health.service';
import { grpcWebMiddleware } from './http/grpc-web';
import { limitHttpServer } from './http/http-server-limits';
import { rejectOversizedBodies } from './http/request-body-limit';
import { staticSite } from './http/static-site';
import { IngestService } from './ingest/ingest.service';
import { SessionsService } from './sessions/sessions.service';
import { MetricsService } from './metrics/metrics.service';

interface TlsFiles {
  cert: Buffer;
  key: Buffer;
}

/** The certificate and key TLS_CERT_FILE/TLS_KEY_FILE name, read once at start; none when unset. */
function readTlsFiles(settings: ServerSettings): TlsFiles | undefined {
  if (settings.tlsCertFile === '') return undefined;
  return { cert: readFileSync(settings.tlsCertFile), key: readFileSync(settings.tlsKeyFile) };
}

/** A started server: both listeners up and health SERVING. */
export interface RunningServer {
  readonly app: INestApplication;
  readonly grpcAddress: string;
  readonly httpUrl: string;
  /**
   * Health NOT_SERVING, every watch and trainer stream ended with
   * UNAVAILABLE "server shutting down", then both listeners closed; bounded
   * by settings.shutdownTimeoutMs. Safe to call twice.
   */
  shutdown(): Promise<void>;
}

export interface StartOptions {
  /** Nest logger setting; false silences it (tests). */
  logger?: LoggerService | LogLevel[] | false;
}

function grpcOptions(
  settings: ServerSettings,
  metrics: MetricsService,
  authenticator: Authenticator,
  tls: TlsFiles | undefined,
): GrpcOptions {
  // The compatibility paths (common/compatibility-paths.ts) are added here, once, for every caller.
  const packageDefinition = withCompatibilityPaths(
    instrumentPackageDefinition(
      toPackageDefinition(
        TelemetryService,
        DashboardServiceDesc,
        Health,
        AuthServiceDesc,
        AdminServiceDesc,
      ),
      metrics,
    ),
  );
  return {
    transport: Transport.GRPC,
    options: {
      url: `${hostInUrl(settings.host)}:${settings.grpcPort}`,
      package: ['telemetry.v1', 'grpc.health.v1'],
      packageDefinition,
      // Nest's hook for the grpc-js server it created: unknown methods get an UNIMPLEMENTED that lists what is served.
      // The auth guard wraps the lookup first, so unknown methods still get their UNIMPLEMENTED.
      onLoadPackageDefinition: (definition: PackageDefinition, server: GrpcServer) => {
        guardGrpcServer(server, authenticator);
        answerUnknownMethods(server, definition);
        // Bound by now: trainers' uploads are not capped at 64 KB per round trip (GRPC_RECEIVE_WINDOW_BYTES).
        widenReceiveWindows(server, settings.grpcReceiveWindowBytes);
        // One frame per watch event for every native watcher, not a framed copy per stream.
        writePreFramedMessages();
      },
      // TLS_CERT_FILE/TLS_KEY_FILE: the same certificate for gRPC as for HTTPS.
      credentials:
        tls === undefined
          ? undefined
          : ServerCredentials.createSsl(null, [{ cert_chain: tls.cert, private_key: tls.key }]),
      // grpc-js rejects larger messages itself with RESOURCE_EXHAUSTED before any handler runs.
      maxReceiveMessageLength: settings.maxMessageBytes,
      // A snapshot carries history and the latest images; keep it under the same ceiling.
      maxSendMessageLength: settings.maxMessageBytes,
      keepalive: {
        // Ping every connection this often. A trainer whose machine vanished (killed VM, NAT
        // dropped, cable pulled) leaves a half-open connection that sends nothing; its stream
        // stays the session's live writer, refusing its own restarted trainer (ALREADY_EXISTS),
        // until the ping below goes unanswered: at most keepaliveTimeMs + keepaliveTimeoutMs
        // (25 s). grpc-js pings on this timer whatever the traffic, so the bound always holds.
        keepaliveTimeMs: 15_000,
        // Give a ping this long to come back before the connection (and every stream on it) is dropped.
        keepaliveTimeoutMs: 10_000,
        // SDKs ping between heartbeats on quiet streams; allow it without counting strikes.
        keepalivePermitWithoutCalls: 1,
        // Accept client pings as often as every 10 s (grpc-js' default of 5 min would GOAWAY them).
        http2MinPingIntervalWithoutDataMs: 10_000,
      },
    },
  };
}

/** Starts the hybrid app: gRPC on settings.grpcPort, HTTP on settings.httpPort. */
export async function startServer(
  settings: ServerSettings,
  options: StartOptions = {},
): Promise<RunningServer> {
  const tls = readTlsFiles(settings);
  const startUpLogger =
    options.logger === undefined ? new StartUpLogger(['warn', 'error']) : undefined;
  const app = await NestFactory.create(AppModule.forRoot(settings), {
    httpsOptions: tls,
    // gRPC-Web bodies are binary; Express must not consume them.
    bodyParser: false,
    // Nest's own start-up chatter stays quiet; the one start-up line is printed by main.
    logger: options.logger ?? startUpLogger,
    abortOnError: false,
  });
  const metrics = app.get(MetricsService);
  // One filter for HTTP and, through inheritAppConfig, every gRPC handler.
  app.useGlobalFilters(new AppExceptionFilter(app.getHttpAdapter()));
  const authenticator = app.get(Authenticator);
  app.connectMicroservice(grpcOptions(settings, metrics, authenticator, tls), {
    inheritAppConfig: true,
  });
  app.use(
    grpcWebMiddleware(app.get(DashboardService), metrics, {
      corsOrigins: settings.corsOrigins,
      maxRequestBytes: settings.httpMaxRequestBytes,
      authenticator,
      auth: app.get(AuthService),
      admin: app.get(UserAdminService),
      credentials: app.get(CredentialWatch),
    }),
  );
  app.use(rejectOversizedBodies(settings.httpMaxRequestBytes));
  if (settings.webDistDir !== '') app.use(staticSite(settings.webDistDir));
  limitHttpServer(app.getHttpServer() as HttpServer, settings);
  try {
    await app.startAllMicroservices().catch((error: unknown) => {
      throw portRefused(error, 'GRPC_PORT', settings.grpcPort, settings.host);
    });
    await app.listen(settings.httpPort, settings.host).catch((error: unknown) => {
      throw portRefused(error, 'HTTP_PORT', settings.httpPort, settings.host);
    });
  } catch (error) {
    await app.close().catch(() => undefined);
    throw error;
  }
  startUpLogger?.started();
  const health = app.get(HealthService);
  health.setServing(true);

  const displayHost =
    settings.host === '0.0.0.0' ? '127.0.0.1' : settings.host === '::' ? '::1' : settings.host;
  const grpcAddress = `${hostInUrl(displayHost)}:${settings.grpcPort}`;
  const httpUrl = `${tls === undefined ? 'http' : 'https'}://${hostInUrl(displayHost)}:${settings.httpPort}`;
  let closing: Promise<void> | undefined;
  const shutdown = () => {
    closing ??= (async () => {
      health.setServing(false);
      const reason = errors.unavailable('server shutting down');
      app.get(FanOutService).closeAll(reason);
      app.get(SessionsService).beginShutdown();
      app.get(IngestService).closeAll(reason);
      const deadline = Date.now() + settings.shutdownTimeoutMs;
      // Let the UNAVAILABLE statuses reach clients, then close: Nest force-closes gRPC (no gracefulShutdown).
      await waitForOpenCalls(Math.min(1000, settings.shutdownTimeoutMs));
      await Promise.race([
        app.close(),
        new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now())).unref()),
      ]);
    })();
    return closing;
  };
  return { app, grpcAddress, httpUrl, shutdown };
}

/**
 * A listener that could not open its port, said with the setting that names
 * it (`listen EADDRINUSE: address already in use 127.0.0.1:8080` alone does
 * not say which of the two ports, or what to change). Other errors as they are.
 */
function portRefused(error: unknown, setting: string, port: number, host: string): unknown {
  const text = error instanceof Error ? error.message : String(error);
  if (/EADDRINUSE|address already in use|No address added out of total/i.test(text))
    return new Error(
      `${setting}=${port} on ${host} is in use by another process (${text}): stop it or choose another port`,
    );
  if (/EACCES|permission denied/i.test(text))
    return new Error(`${setting}=${port} on ${host} may not be opened by this user (${text})`);
  return error;
}

/** An IPv6 address in brackets, as an address with a port needs it (`[::1]:50051`). */
function hostInUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

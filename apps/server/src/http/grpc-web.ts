import type { IncomingMessage, ServerResponse } from 'node:http';
import { Logger } from '@nestjs/common';
import {
  Code,
  ConnectError,
  cors as connectCors,
  createConnectRouter,
  createContextKey,
  type ConnectRouter,
  type HandlerContext,
  type Interceptor,
} from '@connectrpc/connect';
import {
  universalRequestFromNodeRequest,
  universalResponseToNodeResponse,
} from '@connectrpc/connect-node';
import {
  AdminService as AdminServiceDesc,
  AuthService as AuthServiceDesc,
  DashboardService as DashboardServiceDesc,
  SignOutResponseSchema,
} from '@trainwatch/proto';
import { create } from '@bufbuild/protobuf';
import type { UserAdminService } from '../auth/admin.service';
import type { AuthService } from '../auth/auth.service';
import type { CredentialWatch } from '../auth/credential-watch';
import { SESSION_COOKIE, type Authenticator } from '../auth/authenticator';
import { ANONYMOUS, type Identity } from '../auth/identity';
import { toConnectError } from '../common/app-error';
import { asAppError } from '../common/app-exception.filter';
import { servedMethods, unknownMethodMessage } from '../common/unknown-method';
import type { DashboardService } from '../dashboard/dashboard.service';
import { iterateWatcher, trackWatcher } from '../dashboard/watch-streams';
import type { MetricsService } from '../metrics/metrics.service';
import { sendGrpcWebError } from './grpc-web-status';
import { isPreFramedWatch, serveGrpcWebWatch } from './grpc-web-watch';
import { bodyTooLarge, declaredBodyBytes, limitedBody } from './request-body-limit';

/** Express-style middleware signature, typed with Node's own request/response. */
export type Middleware = (
  req: IncomingMessage,
  res: ServerResponse,
  next: (error?: unknown) => void,
) => void;

/** gRPC-Web's content types (binary and text, proto and JSON). */
const GRPC_WEB_CONTENT_TYPE = /^application\/grpc-web/i;
/** Said after the list of services when a gRPC-Web call names an unknown service. */
const ELSEWHERE =
  '; telemetry.v1.TelemetryService and grpc.health.v1.Health are served over native gRPC on the gRPC port';

/** A handler's error as a ConnectError; one that is neither that nor an AppError is logged once, as INTERNAL. */
const connectErrorOf = (error: unknown, method: string) =>
  error instanceof ConnectError ? error : toConnectError(asAppError(error, `gRPC-Web ${method}`));

/** Converts whatever a handler throws into a ConnectError once, for every method. */
const mapErrors: Interceptor = (next) => async (request) => {
  const method = request.method.name;
  try {
    const response = await next(request);
    if (!response.stream) return response;
    const source = response.message;
    async function* mapped() {
      try {
        yield* source;
      } catch (error) {
        throw connectErrorOf(error, method);
      }
    }
    return { ...response, message: mapped() };
  } catch (error) {
    throw connectErrorOf(error, method);
  }
};

/** Answers a call before reading its body, closing the connection instead of draining a body still coming. */
function refuse(res: ServerResponse, error: ConnectError): void {
  res.setHeader('Connection', 'close');
  sendGrpcWebError(res, error);
}

/** Rethrows whatever reading the request body throws as a ConnectError, so Connect answers it as sent. */
async function* connectErrors(body: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  try {
    yield* body;
  } catch (error) {
    throw toConnectError(error);
  }
}

/** The identity the auth interceptor established for a gRPC-Web call. */
const IDENTITY = createContextKey<Identity>(ANONYMOUS);
const identityOf = (context: HandlerContext) => context.values.get(IDENTITY);

/** The same check as native gRPC (auth/authenticator.ts), before any handler runs. */
function authorizeCalls(authenticator: Authenticator): Interceptor {
  return (next) => async (request) => {
    const identity = await authenticator.authorize(
      `/${request.service.typeName}/${request.method.name}`,
      {
        authorization: request.header.get('authorization') ?? undefined,
        cookie: request.header.get('cookie') ?? undefined,
      },
    );
    request.contextValues.set(IDENTITY, identity);
    return next(request);
  };
}

/** The session cookie: httpOnly (no script reads it), SameSite=Strict (no other site sends it). */
function sessionCookie(token: string, maxAgeSeconds: number): string {
  return `${SESSION_COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAgeSeconds}`;
}

/** AuthService over gRPC-Web: the token travels in the cookie only, never in the response body. */
export function authRoutes(auth: AuthService) {
  const signedIn = (
    result: Awaited<ReturnType<AuthService['signIn']>>,
    context: HandlerContext,
  ) => {
    const maxAge = Math.max(
      0,
      Math.floor((Number(result.response.expiresAtMs) - Date.now()) / 1000),
    );
    context.responseHeader.append('Set-Cookie', sessionCookie(result.token, maxAge));
    return { ...result.response, sessionToken: '' };
  };
  return (router: ConnectRouter) =>
    router.service(AuthServiceDesc, {
      signIn: async (request, context) => signedIn(await auth.signIn(request), context),
      setUpFirstAdmin: async (request, context) =>
        signedIn(await auth.setUpFirstAdmin(request), context),
      signOut: async (_request, context) => {
        await auth.signOut(identityOf(context));
        context.responseHeader.append('Set-Cookie', sessionCookie('', 0));
        return create(SignOutResponseSchema);
      },
      whoAmI: (_request, context) => auth.whoAmI(identityOf(context)),
      getSignInOptions: () => auth.getSignInOptions(),
    });
}

/** AdminService on the Connect router: the same provider as native gRPC, one line per method. */
export function adminRoutes(admin: UserAdminService) {
  return (router: ConnectRouter) =>
    router.service(AdminServiceDesc, {
      listUsers: () => admin.listUsers(),
      createUser: (request) => admin.createUser(request),
      setUserRole: (request) => admin.setUserRole(request),
      listApiKeys: () => admin.listApiKeys(),
      createApiKey: (request) => admin.createApiKey(request),
      revokeApiKey: (request) => admin.revokeApiKey(request),
    });
}

/** DashboardService on the Connect router: the same provider as native gRPC, one line per method. */
export function dashboardRoutes(
  dashboard: DashboardService,
  metrics: MetricsService,
  credentials: CredentialWatch,
) {
  return (router: ConnectRouter) =>
    router.service(DashboardServiceDesc, {
      listSessions: (request) => dashboard.listSessions(request),
      watchSession: (request, context) =>
        iterateWatcher(
          trackWatcher(dashboard.watchSession(request), identityOf(context), credentials),
          context.signal,
          (event) => metrics.countWatchEvent('grpc-web', event),
        ),
      sendCommand: (request, context) => dashboard.sendCommand(request, identityOf(context)),
      querySeries: (request) => dashboard.querySeries(request),
      getImageFrames: (request) => dashboard.getImageFrames(request),
      updateSession: (request) => dashboard.updateSession(request),
      deleteSession: (request) => dashboard.deleteSession(request),
      getConfusionMatrix: (request) => dashboard.getConfusionMatrix(request),
      acknowledgeAlert: (request, context) =>
        dashboard.acknowledgeAlert(request, identityOf(context)),
      setAlertRules: (request, context) => dashboard.setAlertRules(request, identityOf(context)),
    });
}

export interface GrpcWebOptions {
  /** Origins allowed to call from another origin ('*' for any). */
  corsOrigins: string[];
  /** Largest request body (HTTP_MAX_REQUEST_BYTES). */
  maxRequestBytes: number;
  /** Checks every call's caller (AUTH). */
  authenticator: Authenticator;
  /** AuthService (sign-in, sign-out). */
  auth: AuthService;
  /** AdminService (users, roles, keys). */
  admin: UserAdminService;
  /** Ends watches whose sign-in session ended. */
  credentials: CredentialWatch;
}

/**
 * gRPC-Web (only: browsers cannot speak native gRPC, and native clients use
 * the gRPC port) for DashboardService, with CORS for the configured origins.
 * Request bodies are capped at maxRequestBytes: a declared Content-Length
 * over it is answered RESOURCE_EXHAUSTED before anything is read, and a body
 * without one is cut off at the bound while it streams in.
 * Requests for other paths fall through to the next middleware.
 */
export function grpcWebMiddleware(
  dashboard: DashboardService,
  metrics: MetricsService,
  { corsOrigins, maxRequestBytes, authenticator, auth, admin, credentials }: GrpcWebOptions,
): Middleware {
  const prefixes = [DashboardServiceDesc, AuthServiceDesc, AdminServiceDesc].map(
    (service) => `/${service.typeName}/`,
  );
  const router = createConnectRouter({
    grpcWeb: true,
    grpc: false,
    connect: false,
    interceptors: [mapErrors, authorizeCalls(authenticator)],
    // Connect checks each message's declared length before allocating it; no message outgrows its body.
    readMaxBytes: maxRequestBytes,
  });
  dashboardRoutes(dashboard, metrics, credentials)(router);
  authRoutes(auth)(router);
  adminRoutes(admin)(router);
  const handlers = new Map(router.handlers.map((handler) => [handler.requestPath, handler]));
  const logger = new Logger('GrpcWeb');
  const anyOrigin = corsOrigins.includes('*');
  const served = servedMethods(handlers.keys());
  const watchDeps = { dashboard, metrics, authenticator, credentials, maxRequestBytes };
  return (req, res, next) => {
    const url = req.url ?? '';
    // Ours: the served service's paths, and any call in gRPC-Web's content type (to answer UNIMPLEMENTED).
    if (
      !prefixes.some((prefix) => url.startsWith(prefix)) &&
      !GRPC_WEB_CONTENT_TYPE.test(req.headers['content-type'] ?? '')
    ) {
      next();
      return;
    }
    const origin = req.headers.origin;
    if (origin !== undefined && (anyOrigin || corsOrigins.includes(origin))) {
      res.setHeader('Access-Control-Allow-Origin', anyOrigin ? '*' : origin);
      // Credentials (the session cookie) only for an exact origin: never with the wildcard.
      if (!anyOrigin) res.setHeader('Access-Control-Allow-Credentials', 'true');
      res.setHeader('Vary', 'Origin');
      res.setHeader('Access-Control-Expose-Headers', connectCors.exposedHeaders.join(', '));
    }
    if (req.method === 'OPTIONS') {
      res.setHeader('Access-Control-Allow-Methods', connectCors.allowedMethods.join(', '));
      res.setHeader(
        'Access-Control-Allow-Headers',
        [...connectCors.allowedHeaders, 'Authorization'].join(', '),
      );
      res.setHeader('Access-Control-Max-Age', '7200');
      res.statusCode = 204;
      res.end();
      return;
    }
    const path = url.split('?', 1)[0] ?? '';
    const handler = handlers.get(path);
    if (handler === undefined) {
      refuse(
        res,
        new ConnectError(unknownMethodMessage(path, served, ELSEWHERE), Code.Unimplemented),
      );
      return;
    }
    const declared = declaredBodyBytes(req);
    if (declared !== undefined && declared > maxRequestBytes) {
      refuse(res, toConnectError(bodyTooLarge(maxRequestBytes, declared)));
      return;
    }
    // Binary watches: the shared pre-framed event bytes, written to the response without Connect.
    if (isPreFramedWatch(req, path)) {
      void serveGrpcWebWatch(req, res, watchDeps);
      return;
    }
    const body = limitedBody(req, maxRequestBytes, () => {
      if (!res.headersSent) res.setHeader('Connection', 'close');
    });
    const request = universalRequestFromNodeRequest(req, res, undefined, undefined);
    handler({ ...request, body: connectErrors(body) })
      .then((response) => universalResponseToNodeResponse(response, res))
      .catch((reason: unknown) => {
        // A browser that navigated away closed the response mid-stream: nothing to report.
        if (res.destroyed || req.destroyed) return;
        logger.error(`gRPC-Web ${handler.method.name} failed: ${String(reason)}`);
      });
  };
}

import { create } from '@bufbuild/protobuf';
import { Injectable, ServiceUnavailableException } from '@nestjs/common';
import {
  DashboardService,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as ServingStatus,
  TelemetryService,
  type HealthCheckRequest,
  type HealthCheckResponse,
} from '@trainwatch/proto';
import { errors } from '../common/app-error';

/** Services grpc.health.v1 answers for; '' is the server as a whole. */
const KNOWN_SERVICES = new Set(['', TelemetryService.typeName, DashboardService.typeName]);

/**
 * Whether the server is serving: true once both listeners are up, false
 * from the moment shutdown starts, and false while the store cannot commit
 * (acks are held meanwhile). Read by grpc.health.v1 and /healthz.
 */
@Injectable()
export class HealthService {
  private readonly startedAt = Date.now();
  private serving = false;
  private storeProblem: string | undefined;

  get isServing(): boolean {
    return this.serving && this.storeProblem === undefined;
  }

  /** Why the store cannot commit, while it cannot; undefined once it commits again. */
  get storeFailure(): string | undefined {
    return this.storeProblem;
  }

  setStoreProblem(reason: string | undefined): void {
    this.storeProblem = reason;
  }

  get uptimeSec(): number {
    return Math.floor((Date.now() - this.startedAt) / 1000);
  }

  setServing(serving: boolean): void {
    this.serving = serving;
  }

  /** The /healthz body; throws 503 while not serving (starting, shutting down, or the store failing, with the reason). */
  httpReport(sessions: number): { status: 'ok'; sessions: number; uptimeSec: number } {
    if (!this.isServing) {
      throw new ServiceUnavailableException({
        status: 'unavailable',
        sessions,
        uptimeSec: this.uptimeSec,
        ...(this.storeProblem === undefined ? {} : { reason: `store: ${this.storeProblem}` }),
      });
    }
    return { status: 'ok', sessions, uptimeSec: this.uptimeSec };
  }

  /** grpc.health.v1.Health/Check; NOT_FOUND for a service this server does not have. */
  check(request: HealthCheckRequest): HealthCheckResponse {
    if (!KNOWN_SERVICES.has(request.service))
      throw errors.notFound(`unknown service ${JSON.stringify(request.service)}`);
    return create(HealthCheckResponseSchema, {
      status: this.isServing ? ServingStatus.SERVING : ServingStatus.NOT_SERVING,
    });
  }
}

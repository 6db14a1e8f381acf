import { Controller } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import type { HealthCheckRequest, HealthCheckResponse } from '@trainwatch/proto';
import { HealthService } from './health.service';

/** grpc.health.v1.Health over native gRPC. */
@Controller()
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @GrpcMethod('Health', 'Check')
  check(request: HealthCheckRequest): HealthCheckResponse {
    return this.health.check(request);
  }
}

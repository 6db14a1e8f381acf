import { Controller, UseFilters } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import type { HealthCheckRequest, HealthCheckResponse } from '@trainwatch/proto';
import { GrpcErrorFilter } from '../common/grpc-error.filter';
import { HealthService } from './health.service';

/** grpc.health.v1.Health over native gRPC. */
@Controller()
@UseFilters(GrpcErrorFilter)
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @GrpcMethod('Health', 'Check')
  check(request: HealthCheckRequest): HealthCheckResponse {
    return this.health.check(request);
  }
}

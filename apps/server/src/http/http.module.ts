import { Module } from '@nestjs/common';
import { DashboardModule } from '../dashboard/dashboard.module';
import { HealthModule } from '../health/health.module';
import { SessionsModule } from '../sessions/sessions.module';
import { HttpController } from './http.controller';

/** The HTTP listener's own routes; gRPC-Web and static files are mounted as middleware in bootstrap. */
@Module({ imports: [HealthModule, SessionsModule, DashboardModule], controllers: [HttpController] })
export class HttpModule {}

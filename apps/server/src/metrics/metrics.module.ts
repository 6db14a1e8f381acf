import { Global, Module } from '@nestjs/common';
import { MetricsService } from './metrics.service';
import { SessionEventCounters } from './session-event-counters';

/** Process-wide counters; global so every capability can count without importing it. */
@Global()
@Module({ providers: [MetricsService, SessionEventCounters], exports: [MetricsService] })
export class MetricsModule {}

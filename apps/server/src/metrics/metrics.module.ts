import { Global, Module } from '@nestjs/common';
import { MetricsService } from './metrics.service';

/** Process-wide counters; global so every capability can count without importing it. */
@Global()
@Module({ providers: [MetricsService], exports: [MetricsService] })
export class MetricsModule {}

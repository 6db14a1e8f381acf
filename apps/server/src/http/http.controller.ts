import { Controller, Get, Header } from '@nestjs/common';
import { HealthService } from '../health/health.service';
import { MetricsService } from '../metrics/metrics.service';
import { SessionsService } from '../sessions/sessions.service';

/** /healthz and /metrics; one line per route. */
@Controller()
export class HttpController {
  constructor(
    private readonly health: HealthService,
    private readonly metrics: MetricsService,
    private readonly sessions: SessionsService,
  ) {}

  @Get('healthz')
  @Header('Cache-Control', 'no-store')
  healthz(): { status: 'ok'; sessions: number; uptimeSec: number } {
    return this.health.httpReport(this.sessions.size);
  }

  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  metricsText(): Promise<string> {
    return this.metrics.render();
  }
}

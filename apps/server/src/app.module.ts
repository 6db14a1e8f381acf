import { Module, type DynamicModule } from '@nestjs/common';
import { AuthModule } from './auth/auth.module';
import { CommandsModule } from './commands/commands.module';
import { ConfigModule } from './config/config.module';
import type { ServerSettings } from './config/server-config';
import { DashboardModule } from './dashboard/dashboard.module';
import { EventsModule } from './events/events.module';
import { FanOutModule } from './fan-out/fan-out.module';
import { HealthModule } from './health/health.module';
import { HistoryModule } from './history/history.module';
import { HttpModule } from './http/http.module';
import { IngestModule } from './ingest/ingest.module';
import { MetricsModule } from './metrics/metrics.module';
import { SessionsModule } from './sessions/sessions.module';
import { StoreModule } from './store/store.module';
import { WatchdogModule } from './watchdog/watchdog.module';

/** One module per capability; add a new capability by importing its module here. */
@Module({})
export class AppModule {
  static forRoot(settings: ServerSettings): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(settings),
        EventsModule,
        MetricsModule,
        FanOutModule,
        HistoryModule,
        StoreModule,
        SessionsModule,
        CommandsModule,
        // Watchdog: rules, alerts and their actions.
        WatchdogModule,
        IngestModule,
        DashboardModule,
        HealthModule,
        HttpModule,
        // Teams and auth.
        AuthModule,
      ],
    };
  }
}

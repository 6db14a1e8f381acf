import { Module } from '@nestjs/common';
import { SERVER_SETTINGS } from '../config/config.module';
import type { ServerSettings } from '../config/server-config';
import { HealthModule } from '../health/health.module';
import { STORE_DATABASE, openServerStore } from './store-database';
import { StoreWriter } from './store-writer';

/**
 * The store: the database (opened and migrated at start-up; a SQLite
 * DATA_DIR locked to this server) and the writer that keeps every run in it.
 */
@Module({
  imports: [HealthModule],
  providers: [
    {
      provide: STORE_DATABASE,
      inject: [SERVER_SETTINGS],
      useFactory: (settings: ServerSettings) => openServerStore(settings),
    },
    StoreWriter,
  ],
  exports: [STORE_DATABASE, StoreWriter],
})
export class StoreModule {}

import { Module } from '@nestjs/common';
import { CommandsModule } from '../commands/commands.module';
import { SessionsModule } from '../sessions/sessions.module';
import { WatchdogService } from './watchdog.service';

/** Rules evaluated on every session's data, alerts, and their actions. */
@Module({
  imports: [SessionsModule, CommandsModule],
  providers: [WatchdogService],
  exports: [WatchdogService],
})
export class WatchdogModule {}

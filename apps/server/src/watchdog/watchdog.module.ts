import { Module } from '@nestjs/common';
import { CommandsModule } from '../commands/commands.module';
import { SessionsModule } from '../sessions/sessions.module';
import { WatchdogService } from './watchdog.service';
import { WebhookSender } from './webhook-sender';

/** Rules evaluated on every session's data, alerts, and their actions. */
@Module({
  imports: [SessionsModule, CommandsModule],
  providers: [WatchdogService, WebhookSender],
  exports: [WatchdogService],
})
export class WatchdogModule {}

import { Module } from '@nestjs/common';
import { FanOutModule } from '../fan-out/fan-out.module';
import { SessionsModule } from '../sessions/sessions.module';
import { CommandsService } from './commands.service';

/** Dashboard → trainer command routing and the audit log. */
@Module({
  imports: [SessionsModule, FanOutModule],
  providers: [CommandsService],
  exports: [CommandsService],
})
export class CommandsModule {}

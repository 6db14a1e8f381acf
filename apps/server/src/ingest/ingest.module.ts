import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { CommandsModule } from '../commands/commands.module';
import { FanOutModule } from '../fan-out/fan-out.module';
import { ImagesModule } from '../images/images.module';
import { RunsModule } from '../runs/runs.module';
import { SessionsModule } from '../sessions/sessions.module';
import { IngestService } from './ingest.service';
import { TelemetryController } from './telemetry.controller';
import { UnboundStreams } from './unbound-streams';

/** TelemetryService: registration and the trainer's metrics stream. */
@Module({
  imports: [AuthModule, SessionsModule, FanOutModule, CommandsModule, ImagesModule, RunsModule],
  controllers: [TelemetryController],
  providers: [IngestService, UnboundStreams],
  exports: [IngestService],
})
export class IngestModule {}

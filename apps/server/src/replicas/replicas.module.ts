import { Module } from '@nestjs/common';
import { CommandsModule } from '../commands/commands.module';
import { FanOutModule } from '../fan-out/fan-out.module';
import { RunsModule } from '../runs/runs.module';
import { SessionsModule } from '../sessions/sessions.module';
import { replicaBusProvider } from './replica-bus.provider';
import { ReplicasService } from './replicas.service';

/** Several replicas on NATS and PostgreSQL (NATS_URL); idle without it. */
@Module({
  imports: [FanOutModule, SessionsModule, RunsModule, CommandsModule],
  providers: [replicaBusProvider, ReplicasService],
  exports: [ReplicasService],
})
export class ReplicasModule {}

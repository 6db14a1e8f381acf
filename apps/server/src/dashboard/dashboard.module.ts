import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { CommandsModule } from '../commands/commands.module';
import { FanOutModule } from '../fan-out/fan-out.module';
import { ReplicasModule } from '../replicas/replicas.module';
import { RunsModule } from '../runs/runs.module';
import { WatchdogModule } from '../watchdog/watchdog.module';
import { DashboardController } from './dashboard.controller';
import { DashboardService } from './dashboard.service';

/** DashboardService over native gRPC; the same provider backs gRPC-Web (see http/). */
@Module({
  imports: [AuthModule, RunsModule, FanOutModule, CommandsModule, WatchdogModule, ReplicasModule],
  controllers: [DashboardController],
  providers: [DashboardService],
  exports: [DashboardService],
})
export class DashboardModule {}

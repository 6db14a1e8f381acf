import { Module } from '@nestjs/common';
import { FanOutModule } from '../fan-out/fan-out.module';
import { SessionsService } from './sessions.service';

/** The session registry and lifecycle. */
@Module({ imports: [FanOutModule], providers: [SessionsService], exports: [SessionsService] })
export class SessionsModule {}

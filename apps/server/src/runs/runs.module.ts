import { Module } from '@nestjs/common';
import { ImagesModule } from '../images/images.module';
import { SessionsModule } from '../sessions/sessions.module';
import { StoreModule } from '../store/store.module';
import { RetentionService } from './retention.service';
import { RunsService } from './runs.service';

/** Every run, live or stored: lists, windows, frames, edits, deletion, retention. */
@Module({
  imports: [StoreModule, SessionsModule, ImagesModule],
  providers: [RunsService, RetentionService],
  exports: [RunsService],
})
export class RunsModule {}

import { Module } from '@nestjs/common';
import { FanOutModule } from '../fan-out/fan-out.module';
import { SessionsModule } from '../sessions/sessions.module';
import { LatestImagesService } from './latest-images.service';

/** Image frames held in memory, within the server-wide image memory budget. */
@Module({
  imports: [SessionsModule, FanOutModule],
  providers: [LatestImagesService],
  exports: [LatestImagesService],
})
export class ImagesModule {}

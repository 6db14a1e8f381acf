import { Module } from '@nestjs/common';
import { FanOutService } from './fan-out.service';

/** Per-watcher delivery lanes (bounded scalars, latest-wins images). */
@Module({ providers: [FanOutService], exports: [FanOutService] })
export class FanOutModule {}

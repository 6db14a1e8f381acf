import { Module } from '@nestjs/common';
import { HistoryService } from './history.service';

/** Every session's series history, kept from the session event bus. */
@Module({ providers: [HistoryService] })
export class HistoryModule {}

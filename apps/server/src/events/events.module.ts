import { Global, Module } from '@nestjs/common';
import { SessionEventBus } from './event-bus';

/** The session event bus; global so emitters and listeners need not import each other. */
@Global()
@Module({ providers: [SessionEventBus], exports: [SessionEventBus] })
export class EventsModule {}

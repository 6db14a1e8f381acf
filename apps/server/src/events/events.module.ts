import { Global, Module } from '@nestjs/common';
import { CommitBacklog } from './commit-backlog';
import { SessionEventBus } from './event-bus';

/** The session event bus; global so emitters and listeners need not import each other. */
@Global()
@Module({ providers: [SessionEventBus, CommitBacklog], exports: [SessionEventBus, CommitBacklog] })
export class EventsModule {}

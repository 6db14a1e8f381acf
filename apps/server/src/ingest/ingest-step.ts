import type { MetricsRequest } from '@trainwatch/proto';
import type { CommandsService } from '../commands/commands.service';
import type { ServerSettings } from '../config/server-config';
import type { SessionEventBus } from '../events/event-bus';
import type { SessionEventMap, SessionEventName } from '../events/session-events';
import type { Session } from '../sessions/session';
import type { SessionsService } from '../sessions/sessions.service';

/** What a payload kind's handlers may use: the services ingest owns. */
export interface IngestServices {
  readonly settings: ServerSettings;
  readonly sessions: SessionsService;
  readonly commands: CommandsService;
  readonly bus: SessionEventBus;
}

/**
 * The message being applied, handed to a payload kind's validate, apply and
 * toEvents. One per IngestService, refilled per message (messages are
 * applied one at a time), so applying allocates no context.
 */
export class IngestStep {
  session!: Session;
  request!: MetricsRequest;
  now = 0;
  /** Promises of asynchronous listeners of this message's events; its ack waits for them. */
  pending: Promise<void>[] | undefined;

  constructor(readonly services: IngestServices) {}

  reset(session: Session, request: MetricsRequest, now: number): this {
    this.session = session;
    this.request = request;
    this.now = now;
    this.pending = undefined;
    return this;
  }

  /** Emits a session event; an asynchronous listener's promise holds this message's ack. */
  emit<E extends SessionEventName>(event: E, payload: SessionEventMap[E]): void {
    this.hold(this.services.bus.emit(event, payload));
  }

  /** Makes this message's ack wait for `pending` (what a service's own emit returned). */
  hold(pending: Promise<void> | undefined): void {
    if (pending === undefined) return;
    // The events of one message usually wait for the same commit: hold it once.
    if (this.pending === undefined) this.pending = [pending];
    else if (!this.pending.includes(pending)) this.pending.push(pending);
  }
}

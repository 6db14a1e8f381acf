import { Injectable } from '@nestjs/common';
import type { SessionEventMap, SessionEventName } from './session-events';

/**
 * A listener. It runs synchronously inside `emit`; one that must finish
 * something before the trainer may be acknowledged (the store's commit)
 * returns a promise, and the message's ack waits for it (see IngestService.apply).
 */
export type SessionEventListener<E extends SessionEventName> = (
  payload: SessionEventMap[E],
) => void | PromiseLike<void>;

/**
 * The in-process bus between session state and everything that reacts to
 * it. Emitters do not know their listeners; a new event is one entry in
 * SessionEventMap plus its listeners. Listeners run in subscription order;
 * emitting allocates nothing unless a listener returns a promise.
 */
@Injectable()
export class SessionEventBus {
  private readonly listeners: { [E in SessionEventName]?: SessionEventListener<E>[] } = {};

  /** Subscribes `listener` to `event`; returns the unsubscribe function. */
  on<E extends SessionEventName>(event: E, listener: SessionEventListener<E>): () => void {
    const list = (this.listeners[event] ??= []) as SessionEventListener<E>[];
    list.push(listener);
    return () => {
      const index = list.indexOf(listener);
      if (index >= 0) list.splice(index, 1);
    };
  }

  /**
   * Runs every listener of `event`. Returns undefined when all of them
   * finished synchronously (the live path today), else a promise that
   * settles when the asynchronous ones have.
   */
  emit<E extends SessionEventName>(
    event: E,
    payload: SessionEventMap[E],
  ): Promise<void> | undefined {
    const list = this.listeners[event] as SessionEventListener<E>[] | undefined;
    if (list === undefined) return undefined;
    // Several listeners usually return the same promise (the store's next commit): one per message
    // then costs no Promise.all and no extra promise.
    let first: PromiseLike<void> | undefined;
    let pending: PromiseLike<void>[] | undefined;
    for (let index = 0; index < list.length; index++) {
      const result = (list[index] as SessionEventListener<E>)(payload);
      if (result === undefined || result === first) continue;
      if (first === undefined) first = result;
      else if (pending === undefined) pending = [first, result];
      else if (!pending.includes(result)) pending.push(result);
    }
    if (pending !== undefined) return Promise.all(pending).then(() => undefined);
    return first === undefined ? undefined : Promise.resolve(first);
  }
}

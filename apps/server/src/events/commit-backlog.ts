import { Injectable } from '@nestjs/common';

/**
 * Whether applied messages waiting for a commit are over their bound
 * (STORE_MAX_PENDING_BYTES). The store sets it; trainer streams stop reading
 * while it is held (HTTP/2 flow control then holds the trainers, whose SDKs
 * keep buffering) and read again when it is released.
 */
@Injectable()
export class CommitBacklog {
  private held = false;
  private readonly listeners = new Set<() => void>();

  get isHeld(): boolean {
    return this.held;
  }

  hold(): void {
    this.held = true;
  }

  release(): void {
    if (!this.held) return;
    this.held = false;
    for (const listener of [...this.listeners]) listener();
  }

  /** Calls `listener` at every release; returns the unsubscribe function. */
  onRelease(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

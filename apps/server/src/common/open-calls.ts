import type { EventEmitter } from 'node:events';

/** Native gRPC calls still open, so shutdown can wait (bounded) for their final status to go out. */
const open = new Set<EventEmitter>();

/** Tracks a grpc-js server call until it closes. */
export function trackCall(call: EventEmitter): void {
  open.add(call);
  const forget = () => open.delete(call);
  call.once('close', forget);
  call.once('finish', forget);
  call.once('cancelled', forget);
}

/** Resolves once every tracked call closed, or after `timeoutMs`, whichever is first. */
export async function waitForOpenCalls(timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (open.size > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

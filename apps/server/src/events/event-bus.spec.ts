import { SessionEventBus } from './event-bus';
import type { SessionEventMap } from './session-events';

const payload = {} as SessionEventMap['heartbeat.received'];

describe('SessionEventBus', () => {
  it('returns undefined when every listener finished synchronously', () => {
    const bus = new SessionEventBus();
    bus.on('heartbeat.received', () => undefined);
    expect(bus.emit('heartbeat.received', payload)).toBeUndefined();
  });

  it('hands back the one promise listeners share (the next commit), without wrapping it', () => {
    const bus = new SessionEventBus();
    const commit = Promise.resolve();
    bus.on('heartbeat.received', () => commit);
    bus.on('heartbeat.received', () => undefined);
    bus.on('heartbeat.received', () => commit);
    expect(bus.emit('heartbeat.received', payload)).toBe(commit);
  });

  it('settles only once every distinct promise has', async () => {
    const bus = new SessionEventBus();
    let release!: () => void;
    const slow = new Promise<void>((resolve) => (release = resolve));
    bus.on('heartbeat.received', () => Promise.resolve());
    bus.on('heartbeat.received', () => slow);
    let settled = false;
    const done = bus.emit('heartbeat.received', payload)?.then(() => (settled = true));
    await Promise.resolve();
    await Promise.resolve();
    expect(settled).toBe(false);
    release();
    await done;
    expect(settled).toBe(true);
  });
});

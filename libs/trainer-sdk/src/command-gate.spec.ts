import { CommandGate, type GateResult } from './command-gate';

describe('CommandGate', () => {
  it('is open while running', async () => {
    await expect(new CommandGate().wait()).resolves.toBe('continue');
  });

  it('holds a waiting loop while paused and lets it go on resume', async () => {
    let now = 0;
    const pauses: number[] = [];
    const gate = new CommandGate(
      (ms) => pauses.push(ms),
      () => now,
    );
    expect(gate.pause()).toBe(true);
    expect(gate.pause()).toBe(false);
    let result: GateResult | undefined;
    const waiting = gate.wait().then((r) => (result = r));
    await Promise.resolve();
    expect(result).toBeUndefined();
    now = 1500;
    expect(gate.resume()).toBe(true);
    await waiting;
    expect(result).toBe('continue');
    expect(pauses).toEqual([1500]);
    expect(gate.resume()).toBe(false);
  });

  it('answers stop to waiters and to every later call, even from a pause', async () => {
    const gate = new CommandGate();
    gate.pause();
    const waiting = gate.wait();
    expect(gate.stop()).toBe(true);
    await expect(waiting).resolves.toBe('stop');
    await expect(gate.wait()).resolves.toBe('stop');
    expect(gate.paused).toBe(false);
    expect(gate.stopRequested).toBe(true);
    expect(gate.pause()).toBe(false);
    expect(gate.stop()).toBe(false);
  });
});

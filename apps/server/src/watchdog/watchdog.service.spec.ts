import { create } from '@bufbuild/protobuf';
import { AlertRuleKind, BatchDataSchema, type Alert } from '@trainwatch/proto';
import type { CommandsService } from '../commands/commands.service';
import { loadServerConfig } from '../config/server-config';
import { SessionEventBus } from '../events/event-bus';
import { Session } from '../sessions/session';
import type { SessionsService } from '../sessions/sessions.service';
import { WatchdogService } from './watchdog.service';

/** A watchdog with the default rules on one session, and the alerts it raises. */
function setUp() {
  const bus = new SessionEventBus();
  // Neither is reached: every default loss rule only notifies, and the session has no trainer.
  const watchdog = new WatchdogService(
    loadServerConfig({}),
    bus,
    {} as SessionsService,
    {} as CommandsService,
  );
  const session = new Session('run-1', 0, { lossHistoryPoints: 16, commandAuditSize: 3 });
  const alerts: Alert[] = [];
  bus.on('alert.changed', ({ alert }) => void alerts.push(alert));
  let step = 0n;
  // The watchdog's listeners are synchronous: nothing to wait for.
  const send = (loss: number): void =>
    void bus.emit('batch.applied', {
      session,
      batch: create(BatchDataSchema, { batchLoss: loss }),
      step: step++,
      sequence: 0n,
      receivedAtMs: 1_000 + Number(step),
    });
  return { watchdog, alerts, send };
}

describe('WatchdogService', () => {
  it('writes the losses in alert text with four significant digits and keeps the exact value', () => {
    const { watchdog, alerts, send } = setUp();
    // 50 healthy batches around 1, then a spike, then 50 batches above twice the best loss.
    for (let i = 0; i < 50; i++) send(1 + (i % 5) * 0.01);
    send(3.3077542675164935);
    for (let i = 0; i < 50; i++) send(2.123456789);
    watchdog.onModuleDestroy();

    const spike = alerts.find((alert) => alert.kind === AlertRuleKind.LOSS_SPIKE);
    expect(spike?.message).toMatch(/^loss spike: loss spiked to 3\.308 at step 50 \(/);
    expect(spike?.value).toBe(3.3077542675164935);
    const divergence = alerts.find((alert) => alert.kind === AlertRuleKind.DIVERGENCE);
    expect(divergence?.message).toMatch(
      /loss 2\.123 at step \d+: the last 50 batches stayed above 2× the best loss 1$/,
    );
  });
});

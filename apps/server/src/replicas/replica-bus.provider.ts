import type { FactoryProvider } from '@nestjs/common';
import { SERVER_SETTINGS } from '../config/config.module';
import type { ServerSettings } from '../config/server-config';
import { NatsBus } from './nats-bus';
import type { ReplicaBus } from './replica-bus';

/** The bus replicas share: NATS when NATS_URL is set, else none (everything stays in this process). */
export const REPLICA_BUS = Symbol('REPLICA_BUS');

export const replicaBusProvider: FactoryProvider<ReplicaBus | null> = {
  provide: REPLICA_BUS,
  inject: [SERVER_SETTINGS],
  useFactory: async (settings: ServerSettings) => {
    if (settings.natsUrl === '') return null;
    return NatsBus.connect({
      url: settings.natsUrl,
      limits: {
        maxEventsPerSession: settings.busEventsPerSession,
        leaseTtlMs: settings.replicaLeaseTtlMs,
        // Two minutes: a trainer's replay after a replica died comes well within it.
        dedupeWindowMs: 120_000,
      },
    }).catch((error: unknown) => {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`cannot reach NATS at NATS_URL (${reason}); replicas need it to start`);
    });
  },
};

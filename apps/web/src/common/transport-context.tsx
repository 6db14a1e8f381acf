import type { DescService } from '@bufbuild/protobuf';
import { createClient, type Client, type Transport } from '@connectrpc/connect';
import { DashboardService } from '@trainwatch/proto';
import { createContext, useContext, useMemo, type ReactNode } from 'react';

const TransportContext = createContext<Transport | undefined>(undefined);

/** Supplies the Connect transport: gRPC-Web in the app, a router transport in tests. */
export function TransportProvider({
  transport,
  children,
}: {
  transport: Transport;
  children: ReactNode;
}) {
  return <TransportContext.Provider value={transport}>{children}</TransportContext.Provider>;
}

/** A client of `service` over the transport from {@link TransportProvider}. */
export function useServiceClient<T extends DescService>(service: T): Client<T> {
  const transport = useContext(TransportContext);
  if (!transport) throw new Error('a service client needs a <TransportProvider> above it');
  return useMemo(() => createClient(service, transport), [service, transport]);
}

/** A DashboardService client over the transport from {@link TransportProvider}. */
export function useDashboardClient(): Client<typeof DashboardService> {
  return useServiceClient(DashboardService);
}

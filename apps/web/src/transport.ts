import { createGrpcWebTransport } from '@connectrpc/connect-web';

/**
 * The app's only transport: gRPC-Web to the origin that served the page (the
 * server itself, or the Vite dev server, which proxies to it). Binary format
 * keeps image frames small.
 */
export const transport = createGrpcWebTransport({
  baseUrl: window.location.origin,
  useBinaryFormat: true,
});

import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const appRoot = fileURLToPath(new URL('.', import.meta.url));
const workspaceRoot = fileURLToPath(new URL('../..', import.meta.url));

/** Where `npx nx serve web` forwards gRPC-Web calls: the server's HTTP port. */
const apiTarget = process.env.TRAINWATCH_API ?? 'http://127.0.0.1:8080';

export default defineConfig({
  root: appRoot,
  plugins: [react()],
  resolve: {
    // The contract lib is plain TypeScript; its grpc-js import is type-only,
    // so the browser bundle gets the generated messages and nothing else.
    alias: { '@trainwatch/proto': `${workspaceRoot}libs/proto/src/index.ts` },
  },
  build: {
    outDir: `${workspaceRoot}dist/apps/web`,
    emptyOutDir: true,
  },
  server: {
    port: 5173,
    strictPort: true,
    proxy: {
      // gRPC-Web is plain HTTP/1.1 POSTs; the watch stream is a long response.
      '/telemetry.v1.DashboardService/': { target: apiTarget, changeOrigin: true },
      // Sign-in (the session cookie is set for the dev server's origin) and the admin page.
      '/telemetry.v1.AuthService/': { target: apiTarget, changeOrigin: true },
      '/telemetry.v1.AdminService/': { target: apiTarget, changeOrigin: true },
      // The store banner asks whether the server's store saves runs.
      '/healthz': { target: apiTarget, changeOrigin: true },
    },
  },
});

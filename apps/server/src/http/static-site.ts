import { createReadStream, existsSync, statSync } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';
import type { Middleware } from './grpc-web';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

/** Paths answered by the server itself, never by the SPA fallback. */
const SERVER_ROUTES = ['/healthz', '/metrics'];

/** Shown at `/` when the dashboard has not been built. */
export const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>trainwatch</title></head>
<body><h1>trainwatch server is running</h1>
<p>The dashboard is not built. Build it with <code>npx nx build web</code>, then reload this page.</p>
<p>Trainers can already stream to the gRPC port; <a href="/healthz">/healthz</a> and <a href="/metrics">/metrics</a> answer.</p>
</body></html>
`;

function send(res: Parameters<Middleware>[1], file: string, immutable: boolean): void {
  res.statusCode = 200;
  res.setHeader('Content-Type', CONTENT_TYPES[extname(file)] ?? 'application/octet-stream');
  res.setHeader('Cache-Control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
  createReadStream(file)
    .on('error', () => res.destroy())
    .pipe(res);
}

/**
 * Serves the built SPA from `dir`: files as they are (hashed assets cached
 * for good), and index.html for client routes (GET paths without an
 * extension). When `dir` has no index.html, `/` and client routes answer a
 * page saying how to build the dashboard.
 */
export function staticSite(dir: string): Middleware {
  const root = resolve(dir);
  return (req, res, next) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || req.url === undefined) {
      next();
      return;
    }
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url, 'http://localhost').pathname);
    } catch {
      res.statusCode = 400;
      res.end('malformed URL');
      return;
    }
    if (SERVER_ROUTES.includes(path)) {
      next();
      return;
    }
    const built = existsSync(join(root, 'index.html'));
    const file = normalize(join(root, path));
    if (built && file.startsWith(root + sep) && existsSync(file) && statSync(file).isFile()) {
      send(res, file, path.startsWith('/assets/'));
      return;
    }
    if (extname(path) !== '') {
      next();
      return;
    }
    if (built) {
      send(res, join(root, 'index.html'), false);
      return;
    }
    res.statusCode = 200;
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.end(NOT_BUILT_PAGE);
  };
}

// `npm run web`: serves the browser demo (clients/web/src) on its own port. The page talks to the
// gateway over WebSocket; open http://127.0.0.1:8081/?gw=ws://127.0.0.1:8080/v1/ws (gw defaults
// to port 8080 of the page's host). Static files only, bundled in memory at start.
//   npm run web -- [--port 8081] [--host 127.0.0.1]
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { bundleWebAssets, type WebAssets } from './bundle.ts';

// The page loads its own script and the AudioWorklet (a blob: module), and opens WebSockets to
// whatever gateway `gw` names.
const CSP = "default-src 'self'; script-src 'self' blob:; connect-src 'self' ws: wss:; img-src 'self' blob: data:; style-src 'self' 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export interface WebServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

export async function startWebServer(opts: { port?: number; host?: string; assets?: WebAssets } = {}): Promise<WebServer> {
  const assets = opts.assets ?? (await bundleWebAssets());
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const file = path === '/' || path === '/index.html' ? 'index.html' : path === '/app.js' || path === '/vlp-browser.js' ? (path.slice(1) as 'app.js' | 'vlp-browser.js') : undefined;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (file === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    const body = assets[file];
    res.writeHead(200, {
      'content-type': file === 'index.html' ? 'text/html; charset=utf-8' : 'text/javascript; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      'content-security-policy': CSP,
      'x-content-type-options': 'nosniff',
      // The page's URL may carry ?token=: never send it on as a referrer.
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-cache',
      // The SDK is a public library: pages of other origins may import it.
      ...(file === 'vlp-browser.js' && { 'access-control-allow-origin': '*' }),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 8081, opts.host ?? '127.0.0.1', () => resolve());
  });
  const { port, address } = server.address() as AddressInfo;
  return {
    url: `http://${address.includes(':') ? `[${address}]` : address}:${port}/`,
    server,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '8081' }, host: { type: 'string', default: '127.0.0.1' } } });
  const web = await startWebServer({ port: Number(values.port), host: values.host });
  process.stdout.write(`vlp-live web demo: ${web.url}  (gateway: ?gw=ws://127.0.0.1:8080/v1/ws by default)\n`);
}

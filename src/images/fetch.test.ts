// fetchImage against local HTTP servers on 127.0.0.1: allowlist and address policy, pinning,
// redirects, byte cap on an endless body, deadlines, content types and status codes.
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { VlpError } from '../../protocol/errors.ts';
import { fetchImage } from './fetch.ts';
import type { FetchPolicy } from './fetch.ts';
import type { HostResolver, VettedAddress } from './resolve.ts';
import { jpeg } from './test-images.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

interface TestServer {
  base: string;
  port: number;
  requests: { url: string; host: string }[];
}

const servers: Server[] = [];

async function serve(handler: Handler): Promise<TestServer> {
  const requests: TestServer['requests'] = [];
  const server = createServer((req, res) => {
    requests.push({ url: req.url ?? '', host: req.headers.host ?? '' });
    handler(req, res);
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { base: `http://127.0.0.1:${port}`, port, requests };
}

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    s.close();
  }
});

const LOCAL: FetchPolicy = { allowedHosts: ['127.0.0.1', 'localhost'], allowPrivate: true, maxBytes: 1 << 20, timeoutMs: 3000, maxRedirects: 3 };

async function failure(p: Promise<unknown>): Promise<VlpError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof VlpError) return err;
    throw err;
  }
  throw new Error('expected the fetch to fail');
}

function imageHandler(body: Uint8Array, type = 'image/jpeg'): Handler {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': type, 'content-length': body.byteLength });
    res.end(body);
  };
}

/** A resolver that answers from a table and counts its calls. */
function fakeDns(table: Record<string, VettedAddress[]>): HostResolver & { calls: string[] } {
  const calls: string[] = [];
  const fn = async (host: string): Promise<VettedAddress[]> => {
    calls.push(host);
    const found = table[host];
    if (found === undefined) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    return found;
  };
  return Object.assign(fn, { calls });
}

describe('fetchImage: happy paths', () => {
  it('fetches an image from an allowed private host when allowPrivate is set', async () => {
    const img = await jpeg();
    const srv = await serve(imageHandler(img));
    const got = await fetchImage(`${srv.base}/cat.jpg?x=1`, LOCAL);
    expect(Buffer.from(got).equals(img)).toBe(true);
    expect(srv.requests).toEqual([{ url: '/cat.jpg?x=1', host: `127.0.0.1:${srv.port}` }]);
  });

  it('fetches through "localhost" (system DNS)', async () => {
    const img = await jpeg();
    const srv = await serve(imageHandler(img));
    const got = await fetchImage(`http://localhost:${srv.port}/a.jpg`, LOCAL);
    expect(got.byteLength).toBe(img.byteLength);
  });

  it('follows an allowed redirect, re-checking the next hop', async () => {
    const img = await jpeg();
    const srv = await serve((req, res) => {
      if (req.url === '/old') res.writeHead(302, { location: `http://localhost:${(req.socket.localPort ?? 0)}/new` }).end();
      else imageHandler(img)(req, res);
    });
    const got = await fetchImage(`${srv.base}/old`, LOCAL);
    expect(got.byteLength).toBe(img.byteLength);
    expect(srv.requests.map((r) => r.url)).toEqual(['/old', '/new']);
  });

  it('sniffs an untyped (application/octet-stream) body', async () => {
    const img = await jpeg();
    const srv = await serve(imageHandler(img, 'application/octet-stream'));
    expect((await fetchImage(`${srv.base}/blob`, LOCAL)).byteLength).toBe(img.byteLength);
  });
});

describe('fetchImage: address policy', () => {
  it('refuses the same loopback URL when allowPrivate is false, before connecting', async () => {
    const srv = await serve(imageHandler(await jpeg()));
    const err = await failure(fetchImage(`${srv.base}/cat.jpg`, { ...LOCAL, allowPrivate: false }));
    expect(err.code).toBe('INPUT_IMAGE_URL_FORBIDDEN');
    expect(err.message).toContain('loopback');
    expect(srv.requests).toHaveLength(0);
  });

  it('refuses a hostname that resolves to a private address (and any mixed answer)', async () => {
    const dns = fakeDns({ 'img.test': [{ address: '8.8.8.8', family: 4 }, { address: '10.0.0.7', family: 4 }] });
    const err = await failure(fetchImage('http://img.test/a.jpg', { ...LOCAL, allowedHosts: ['img.test'], allowPrivate: false }, { resolver: dns }));
    expect(err.code).toBe('INPUT_IMAGE_URL_FORBIDDEN');
    expect(err.message).toContain('private');
  });

  it('refuses IPv6 loopback and IPv4-mapped literals', async () => {
    const policy = { ...LOCAL, allowedHosts: ['::1', '::ffff:127.0.0.1', '::ffff:7f00:1'], allowPrivate: false };
    for (const url of ['http://[::1]/a.jpg', 'http://[::ffff:127.0.0.1]/a.jpg']) {
      const err = await failure(fetchImage(url, policy));
      expect(err.code).toBe('INPUT_IMAGE_URL_FORBIDDEN');
      expect(err.message).toContain('loopback');
    }
  });

  it('connects to the vetted address (pinned), sending the hostname as Host', async () => {
    const img = await jpeg();
    const srv = await serve(imageHandler(img));
    // img.test exists only in this resolver: the connection can only go where it was vetted.
    const dns = fakeDns({ 'img.test': [{ address: '127.0.0.1', family: 4 }] });
    const got = await fetchImage(`http://img.test:${srv.port}/a.jpg`, { ...LOCAL, allowedHosts: ['img.test'] }, { resolver: dns });
    expect(got.byteLength).toBe(img.byteLength);
    expect(dns.calls).toEqual(['img.test']);
    expect(srv.requests).toEqual([{ url: '/a.jpg', host: `img.test:${srv.port}` }]);
  });
});

describe('fetchImage: URL policy', () => {
  it('refuses a host not on the allowlist before any lookup or connection', async () => {
    const srv = await serve(imageHandler(await jpeg()));
    const dns = fakeDns({});
    const err = await failure(fetchImage(`${srv.base}/a.jpg`, { ...LOCAL, allowedHosts: ['images.example.com'] }, { resolver: dns }));
    expect(err.code).toBe('INPUT_IMAGE_URL_FORBIDDEN');
    expect(srv.requests).toHaveLength(0);
    expect(dns.calls).toHaveLength(0);
  });

  it('denies everything with an empty allowlist', async () => {
    const srv = await serve(imageHandler(await jpeg()));
    expect((await failure(fetchImage(`${srv.base}/a.jpg`, { ...LOCAL, allowedHosts: [] }))).code).toBe('INPUT_IMAGE_URL_FORBIDDEN');
    expect(srv.requests).toHaveLength(0);
  });

  it('refuses a redirect to a host not on the allowlist', async () => {
    const srv = await serve((_req, res) => res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end());
    const err = await failure(fetchImage(`${srv.base}/a.jpg`, LOCAL));
    expect(err.code).toBe('INPUT_IMAGE_URL_FORBIDDEN');
    expect(srv.requests).toHaveLength(1);
  });

  it('refuses a redirect chain longer than maxRedirects', async () => {
    const srv = await serve((req, res) => {
      const n = Number((req.url ?? '/0').slice(1));
      res.writeHead(301, { location: `/${n + 1}` }).end();
    });
    const err = await failure(fetchImage(`${srv.base}/0`, { ...LOCAL, maxRedirects: 3 }));
    expect(err.code).toBe('INPUT_IMAGE_URL_FORBIDDEN');
    expect(err.message).toContain('3 redirects');
    expect(srv.requests.map((r) => r.url)).toEqual(['/0', '/1', '/2', '/3']);
  });
});

describe('fetchImage: response checks', () => {
  it('aborts a body that streams past maxBytes, and the connection closes', async () => {
    let written = 0;
    let closed = false;
    const srv = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'image/jpeg' });
      const chunk = Buffer.alloc(16 * 1024, 0xab);
      const pump = (): void => {
        while (!res.destroyed && res.write(chunk)) written += chunk.byteLength;
        if (!res.destroyed) res.once('drain', pump);
      };
      res.on('close', () => { closed = true; });
      pump();
    });
    const started = Date.now();
    const err = await failure(fetchImage(`${srv.base}/endless`, { ...LOCAL, maxBytes: 256 * 1024 }));
    expect(err.code).toBe('INPUT_IMAGE_TOO_LARGE');
    expect(Date.now() - started).toBeLessThan(2000);
    await expect.poll(() => closed, { timeout: 2000 }).toBe(true);
    const after = written;
    await new Promise((r) => setTimeout(r, 100));
    expect(written).toBe(after); // the server stopped writing
    expect(written).toBeLessThan(64 * 1024 * 1024);
  });

  it('refuses an over-large Content-Length up front', async () => {
    const srv = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': 50_000_000 });
      res.write(Buffer.alloc(1024));
    });
    expect((await failure(fetchImage(`${srv.base}/big`, { ...LOCAL, maxBytes: 1_000_000 }))).code).toBe('INPUT_IMAGE_TOO_LARGE');
  });

  it('times out a server that never answers, within the deadline', async () => {
    const srv = await serve(() => undefined);
    const started = Date.now();
    const err = await failure(fetchImage(`${srv.base}/slow`, { ...LOCAL, timeoutMs: 300 }));
    expect(err.code).toBe('INPUT_IMAGE_INVALID');
    expect(err.message).toContain('timed out after 300 ms');
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('times out a DNS lookup that never answers', async () => {
    const hang: HostResolver = () => new Promise<VettedAddress[]>(() => undefined);
    const err = await failure(fetchImage('http://img.test/a.jpg', { ...LOCAL, allowedHosts: ['img.test'], timeoutMs: 200 }, { resolver: hang }));
    expect(err.message).toContain('timed out after 200 ms');
  });

  it('times out a body that drips, the deadline covering the whole fetch', async () => {
    const srv = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'image/jpeg' });
      const t = setInterval(() => res.write(Buffer.alloc(10)), 50);
      res.on('close', () => clearInterval(t));
    });
    const started = Date.now();
    const err = await failure(fetchImage(`${srv.base}/drip`, { ...LOCAL, timeoutMs: 400 }));
    expect(err.message).toContain('timed out');
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('refuses a non-image content type without reading on', async () => {
    const srv = await serve(imageHandler(Buffer.from('<html>hi</html>'), 'text/html; charset=utf-8'));
    const err = await failure(fetchImage(`${srv.base}/page`, LOCAL));
    expect(err.code).toBe('INPUT_IMAGE_INVALID');
    expect(err.message).toContain('content type');
  });

  it('refuses untyped bytes that are not an image', async () => {
    const srv = await serve(imageHandler(Buffer.from('<html>hi</html>'), 'application/octet-stream'));
    expect((await failure(fetchImage(`${srv.base}/page`, LOCAL))).code).toBe('INPUT_IMAGE_INVALID');
  });

  it('reports an HTTP error status without echoing the query', async () => {
    const srv = await serve((_req, res) => res.writeHead(404).end('nope'));
    const err = await failure(fetchImage(`${srv.base}/a.jpg?token=hunter2`, LOCAL));
    expect(err.code).toBe('INPUT_IMAGE_INVALID');
    expect(err.message).toContain('HTTP 404');
    expect(err.message).not.toContain('hunter2');
  });

  it('reports a refused connection as INVALID', async () => {
    const srv = await serve(() => undefined);
    const port = srv.port;
    for (const s of servers.splice(0)) s.close();
    await new Promise((r) => setTimeout(r, 20));
    const err = await failure(fetchImage(`http://127.0.0.1:${port}/a.jpg`, LOCAL));
    expect(err.code).toBe('INPUT_IMAGE_INVALID');
    expect(err.message).toContain('ECONNREFUSED');
  });
});

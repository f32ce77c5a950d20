// What plain HTTP handlers get on both adapters: request headers (also after an await), and the
// body of non-GET requests, bounded at MAX_HTTP_BODY_BYTES (larger ones are answered 413 before the
// handler runs, whether declared by Content-Length or streamed chunked).
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { recordingHandler } from './conformance-helpers.ts';
import { MAX_HTTP_BODY_BYTES } from './http-routes.ts';
import { createTransport, type TransportKind } from './index.ts';
import type { HttpHandler, TransportServer } from './types.ts';

const servers: TransportServer[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** Echoes method, a header and the body's length and text; /async does so after an await. */
const echoRoutes: HttpHandler = async (method, path, req) => {
  if (path === '/async') await new Promise((r) => setTimeout(r, 5));
  const text = Buffer.from(req.body).toString('utf8');
  return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ method, auth: req.header('authorization') ?? null, bytes: req.body.byteLength, text }) };
};

async function start(kind: TransportKind, calls: string[]): Promise<number> {
  const server = createTransport(kind, {
    host: '127.0.0.1',
    port: 0,
    wsPath: '/v1/ws',
    maxPayloadBytes: 1 << 16,
    highWaterBytes: 1 << 18,
    handler: recordingHandler().handler,
    http: (method, path, req) => {
      calls.push(`${method} ${path}`);
      return echoRoutes(method, path, req);
    },
  });
  servers.push(server);
  return server.listen();
}

function request(port: number, path: string, opts: { method?: string; headers?: Record<string, string>; body?: Buffer; chunks?: Buffer[] }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: opts.method ?? 'POST', headers: opts.headers ?? {}, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    // The server may close while a large body is still being written: the status already came.
    req.on('error', (err) => reject(err));
    if (opts.chunks !== undefined) {
      for (const c of opts.chunks) req.write(c);
      req.end();
    } else req.end(opts.body);
  });
}

describe.each<TransportKind>(['ws', 'uws'])('HTTP requests on %s', (kind) => {
  it('hands the handler the headers and the body of a POST, also after an await', async () => {
    const calls: string[] = [];
    const port = await start(kind, calls);
    const body = Buffer.from('{"ttl_s":60}');
    for (const path of ['/sync', '/async']) {
      const r = await request(port, path, { headers: { authorization: 'Bearer k', 'content-type': 'application/json' }, body });
      expect(r.status).toBe(200);
      expect(JSON.parse(r.body)).toEqual({ method: 'POST', auth: 'Bearer k', bytes: body.byteLength, text: '{"ttl_s":60}' });
    }
    const chunked = await request(port, '/sync', { chunks: [Buffer.from('ab'), Buffer.from('cd')] });
    expect(JSON.parse(chunked.body)).toMatchObject({ auth: null, bytes: 4, text: 'abcd' });
    const empty = await request(port, '/sync', {});
    expect(JSON.parse(empty.body)).toMatchObject({ bytes: 0 });
    const get = await request(port, '/sync', { method: 'GET' });
    expect(JSON.parse(get.body)).toMatchObject({ method: 'GET', bytes: 0 });
  });

  it('accepts a body of exactly the cap', async () => {
    const port = await start(kind, []);
    const r = await request(port, '/sync', { body: Buffer.alloc(MAX_HTTP_BODY_BYTES, 0x61) });
    expect(JSON.parse(r.body)).toMatchObject({ bytes: MAX_HTTP_BODY_BYTES });
  });

  it('answers 413 without calling the handler for a larger body, declared or streamed', async () => {
    const calls: string[] = [];
    const port = await start(kind, calls);
    const declared = await request(port, '/sync', { body: Buffer.alloc(MAX_HTTP_BODY_BYTES + 1, 0x61) });
    expect(declared.status).toBe(413);
    const streamed = await request(port, '/sync', { chunks: [Buffer.alloc(MAX_HTTP_BODY_BYTES, 0x61), Buffer.alloc(10, 0x61)] });
    expect(streamed.status).toBe(413);
    expect(calls).toEqual([]);
  });
});

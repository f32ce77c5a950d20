// The upgrade gate on both adapters (TransportOptions.admit): it sees the request's headers and
// query before the handshake completes; its refusal is sent as is (status, headers, body), no
// connection opens, and it runs before subprotocol negotiation but after the draining check.
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { recordingHandler, rawHandshake, rawSocket } from './conformance-helpers.ts';
import { createTransport, type TransportKind } from './index.ts';
import type { HttpResponse, TransportServer, UpgradeRequestInfo, UpgradeVerdict } from './types.ts';

const WS_PATH = '/v1/ws';
const servers: TransportServer[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const REFUSAL: HttpResponse = {
  status: 401,
  headers: { 'www-authenticate': 'Bearer realm="test"', 'content-type': 'application/json' },
  body: '{"error":"unauthorized"}',
};

/** A server whose gate records what it saw and refuses unless the header says "Bearer let-me-in". */
async function start(kind: TransportKind) {
  const { handler, seen } = recordingHandler();
  const gateSaw: { authorization: string | undefined; origin: string | undefined; query: string }[] = [];
  const admit = (req: UpgradeRequestInfo): UpgradeVerdict => {
    gateSaw.push({ authorization: req.header('authorization'), origin: req.header('origin'), query: req.query });
    return req.header('authorization') === 'Bearer let-me-in' ? { ok: true, grant: {} } : { ok: false, response: REFUSAL };
  };
  const server = createTransport(kind, {
    host: '127.0.0.1',
    port: 0,
    wsPath: WS_PATH,
    maxPayloadBytes: 1 << 16,
    highWaterBytes: 1 << 18,
    handler,
    http: () => undefined,
    admit,
  });
  servers.push(server);
  const port = await server.listen();
  return { server, port, seen, gateSaw };
}

interface Outcome {
  status: number | 'open';
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function attempt(port: number, opts: { path?: string; headers?: Record<string, string>; protocols?: string[] } = {}): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${opts.path ?? WS_PATH}`, opts.protocols ?? [], { headers: opts.headers ?? {} });
    ws.once('open', () => {
      ws.terminate();
      resolve({ status: 'open', headers: {}, body: '' });
    });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString('utf8')));
      res.on('end', () => {
        ws.terminate();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      });
    });
    ws.once('error', reject);
  });
}

describe.each<TransportKind>(['ws', 'uws'])('upgrade gate on %s', (kind) => {
  it('refuses with the gate\'s response, before any connection opens', async () => {
    const { port, seen, gateSaw } = await start(kind);
    const r = await attempt(port, { headers: { authorization: 'Bearer nope', origin: 'https://a.example' }, path: `${WS_PATH}?token=abc&x=1` });
    expect(r.status).toBe(401);
    expect(r.headers['www-authenticate']).toBe('Bearer realm="test"');
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.body).toBe('{"error":"unauthorized"}');
    expect(gateSaw).toEqual([{ authorization: 'Bearer nope', origin: 'https://a.example', query: 'token=abc&x=1' }]);
    expect(seen).toHaveLength(0);
  });

  it('lets an admitted upgrade through, and reports absent headers and query as undefined and \'\'', async () => {
    const { port, seen, gateSaw } = await start(kind);
    expect((await attempt(port, { headers: { authorization: 'Bearer let-me-in' } })).status).toBe('open');
    expect(gateSaw).toEqual([{ authorization: 'Bearer let-me-in', origin: undefined, query: '' }]);
    await expect.poll(() => seen.length).toBe(1);
  });

  it('runs before subprotocol negotiation (a refused client learns nothing more)', async () => {
    const { port } = await start(kind);
    expect((await attempt(port, { protocols: ['chat'] })).status).toBe(401);
    expect((await attempt(port, { protocols: ['chat'], headers: { authorization: 'Bearer let-me-in' } })).status).toBe(400);
  });

  it('is not consulted once the server stops accepting (503 first) or on another path', async () => {
    const { server, port, gateSaw } = await start(kind);
    expect((await attempt(port)).status).toBe(401);
    expect(gateSaw).toHaveLength(1);
    expect((await attempt(port, { path: '/elsewhere' })).status).toBe(404);
    const idle = await rawSocket(port);
    try {
      await server.stopAccepting();
      expect(await rawHandshake(idle, WS_PATH)).toBe('HTTP/1.1 503 Service Unavailable');
    } finally {
      idle.destroy();
    }
    expect(gateSaw).toHaveLength(1);
  });
});

// Conformance suite every transport adapter must pass (ws and uWebSockets.js), with real `ws`
// clients on 127.0.0.1 port 0; adapter-specific behaviour is tested at the end.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import type { Socket } from 'node:net';
import {
  closed,
  connect,
  echo,
  httpRequest,
  nextMessage,
  rawHandshake,
  rawSocket,
  recordingHandler,
  refusedStatus,
  sleep,
} from './conformance-helpers.ts';
import type { MessageBehavior, Recorded } from './conformance-helpers.ts';
import { createTransport } from './index.ts';
import type { TransportKind } from './index.ts';
import type { HttpHandler, SendResult, TransportOptions, TransportServer } from './types.ts';
import { createWsTransport } from './ws.ts';

const WS_PATH = '/v1/ws';
const MAX_PAYLOAD = 64 * 1024;

const routes: HttpHandler = (method, path) => {
  if (path === '/healthz') return { status: 200, headers: { 'content-type': 'text/plain' }, body: `ok ${method}` };
  if (path === '/async') return Promise.resolve({ status: 201, headers: {}, body: new Uint8Array([104, 105]) });
  if (path === '/boom') throw new Error('boom');
  if (path === '/reject') return Promise.reject(new Error('boom'));
  return undefined;
};

const servers: TransportServer[] = [];
const clients: WebSocket[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.terminate();
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(
  kind: TransportKind,
  behavior: MessageBehavior = echo,
  overrides: Partial<TransportOptions> = {},
): Promise<{ server: TransportServer; port: number; seen: Recorded[] }> {
  const { handler, seen } = recordingHandler(behavior);
  const server = createTransport(kind, {
    host: '127.0.0.1',
    port: 0,
    wsPath: WS_PATH,
    maxPayloadBytes: MAX_PAYLOAD,
    highWaterBytes: 256 * 1024,
    handler,
    http: routes,
    ...overrides,
  });
  servers.push(server);
  const port = await server.listen();
  return { server, port, seen };
}

async function client(port: number, protocols?: string[], path = WS_PATH): Promise<WebSocket> {
  const ws = await connect(port, path, protocols);
  clients.push(ws);
  return ws;
}

/** The server side of the n-th connection, once open. */
async function session(seen: Recorded[], n = 0): Promise<Recorded> {
  await vi.waitFor(() => expect(seen.length).toBeGreaterThan(n));
  return seen[n] as Recorded;
}

describe.each<TransportKind>(['ws', 'uws'])('transport %s', (kind) => {
  it('listens on a free port and reports the kind', async () => {
    const { server, port } = await start(kind);
    expect(server.kind).toBe(kind);
    expect(port).toBeGreaterThan(0);
  });

  it('echoes binary frames on vlp.v1.msgpack', async () => {
    const { port, seen } = await start(kind);
    const ws = await client(port, ['vlp.v1.msgpack']);
    expect(ws.protocol).toBe('vlp.v1.msgpack');
    const payload = Uint8Array.from({ length: 1000 }, (_, i) => i & 0xff);
    const reply = nextMessage(ws);
    ws.send(payload);
    const got = await reply;
    expect(got.isBinary).toBe(true);
    expect(new Uint8Array(got.data)).toEqual(payload);
    const rec = await session(seen);
    expect(rec.conn.subprotocol).toBe('vlp.v1.msgpack');
    expect(rec.messages[0]?.isBinary).toBe(true);
    expect(rec.conn.remote).toMatch(/^127\.0\.0\.1/);
    expect(rec.conn.id).toBeGreaterThan(0);
  });

  it('sends text frames on vlp.v1.json and hands text to onMessage as UTF-8 bytes', async () => {
    const { port, seen } = await start(kind);
    const ws = await client(port, ['vlp.v1.json']);
    expect(ws.protocol).toBe('vlp.v1.json');
    const reply = nextMessage(ws);
    ws.send('{"t":"héllo"}');
    const got = await reply;
    expect(got.isBinary).toBe(false);
    expect(got.data.toString('utf8')).toBe('{"t":"héllo"}');
    const rec = await session(seen);
    expect(rec.conn.subprotocol).toBe('vlp.v1.json');
    expect(rec.messages[0]?.isBinary).toBe(false);
    expect(Buffer.from(rec.messages[0]?.data ?? []).toString('utf8')).toBe('{"t":"héllo"}');
    // UTF-8 bytes handed to send() on the JSON subprotocol still go out as a text frame.
    const second = nextMessage(ws);
    expect(rec.conn.send(Buffer.from('{"t":"x"}'))).toBe('ok');
    expect((await second).isBinary).toBe(false);
  });

  it('delivers server frames of every header length exactly (7-bit, 16-bit and 64-bit lengths)', async () => {
    const { port, seen } = await start(kind);
    const ws = await client(port, ['vlp.v1.msgpack']);
    ws.send(Buffer.from([1]));
    const rec = await session(seen);
    for (const size of [0, 1, 125, 126, 127, 65_535, 65_536, 200_000]) {
      const payload = Buffer.alloc(size);
      for (let k = 0; k < size; k++) payload[k] = (k * 31 + size) & 0xff;
      const got = nextMessage(ws);
      expect(rec.conn.send(payload)).not.toBe('dropped');
      const m = await got;
      expect(m.isBinary).toBe(true);
      expect(Buffer.compare(m.data, payload)).toBe(0);
    }
    const json = await client(port, ['vlp.v1.json']);
    json.send('{"t":"ping"}');
    const recJson = await session(seen, 1);
    const text = '{"t":"gen.token","text":"' + 'é'.repeat(40_000) + '"}';
    const got = nextMessage(json);
    recJson.conn.send(text);
    const m = await got;
    expect(m.isBinary).toBe(false);
    expect(m.data.toString('utf8')).toBe(text);
  });

  it('negotiates the subprotocol', async () => {
    const { port, seen } = await start(kind);
    const none = await client(port);
    expect(none.protocol).toBe(''); // nothing offered → nothing echoed…
    expect((await session(seen, 0)).conn.subprotocol).toBe('vlp.v1.msgpack'); // …but msgpack spoken
    const both = await client(port, ['vlp.v1.json', 'vlp.v1.msgpack']);
    expect(both.protocol).toBe('vlp.v1.json');
    expect((await session(seen, 1)).conn.subprotocol).toBe('vlp.v1.json');
    const mixed = await client(port, ['chat', 'vlp.v1.msgpack', 'vlp.v1.json']);
    expect(mixed.protocol).toBe('vlp.v1.msgpack');
    expect(await refusedStatus(port, WS_PATH, ['chat', 'vlp.v2.msgpack'])).toBe(400);
    expect(seen).toHaveLength(3);
  });

  it('refuses upgrades on other paths and accepts a query string on the ws path', async () => {
    const { port } = await start(kind);
    expect(await refusedStatus(port, '/nope')).toBe(404);
    expect(await refusedStatus(port, '/healthz')).toBe(404);
    const ws = await client(port, undefined, `${WS_PATH}?session=abc`);
    expect(ws.readyState).toBe(WebSocket.OPEN);
  });

  it('calls onClose exactly once with the client close code', async () => {
    const { port, seen } = await start(kind);
    const ws = await client(port);
    const rec = await session(seen);
    ws.close(4001, 'bye');
    await vi.waitFor(() => expect(rec.closes).toEqual([{ code: 4001, reason: 'bye' }]));
    await sleep(50);
    expect(rec.closes).toHaveLength(1);
    expect(rec.conn.send(new Uint8Array([1]))).toBe('dropped');
  });

  it('closes from the server side with code and reason, idempotently', async () => {
    const { port, seen } = await start(kind);
    const ws = await client(port);
    const rec = await session(seen);
    const done = closed(ws);
    rec.conn.close(4002, 'idle');
    expect(rec.conn.send(new Uint8Array([1]))).toBe('dropped');
    rec.conn.close(4003, 'again');
    rec.conn.terminate();
    expect(await done).toEqual({ code: 4002, reason: 'idle' });
    await vi.waitFor(() => expect(rec.closes).toEqual([{ code: 4002, reason: 'idle' }]));
    await sleep(50);
    expect(rec.closes).toHaveLength(1);
    expect(() => rec.conn.close(1006, 'reserved')).toThrow(RangeError);
  });

  it('truncates a long close reason to 123 bytes', async () => {
    const { port, seen } = await start(kind);
    const ws = await client(port);
    const rec = await session(seen);
    const done = closed(ws);
    rec.conn.close(1000, 'é'.repeat(100));
    const { code, reason } = await done;
    expect(code).toBe(1000);
    expect(reason).toBe('é'.repeat(61));
  });

  it('delivers onClose after onOpen returns even when onOpen closes at once', async () => {
    const calls: string[] = [];
    const server = createTransport(kind, {
      host: '127.0.0.1', port: 0, wsPath: WS_PATH, maxPayloadBytes: MAX_PAYLOAD, highWaterBytes: 1024, http: routes,
      handler: {
        onOpen(conn) {
          conn.close(4009, 'replaced');
          calls.push('open-returned');
          return { onMessage: () => calls.push('message'), onDrain: () => calls.push('drain'), onClose: (code) => calls.push(`close ${code}`) };
        },
      },
    });
    servers.push(server);
    const port = await server.listen();
    const ws = new WebSocket(`ws://127.0.0.1:${port}${WS_PATH}`);
    clients.push(ws);
    expect((await closed(ws)).code).toBe(4009);
    await vi.waitFor(() => expect(calls).toEqual(['open-returned', 'close 4009']));
  });

  it('closes with 1009 when a message exceeds maxPayloadBytes', async () => {
    const { port, seen } = await start(kind);
    const ws = await client(port);
    const exact = nextMessage(ws);
    ws.send(new Uint8Array(MAX_PAYLOAD)); // exactly the cap is fine
    expect((await exact).data.byteLength).toBe(MAX_PAYLOAD);
    const done = closed(ws);
    ws.send(new Uint8Array(MAX_PAYLOAD + 1));
    expect((await done).code).toBe(1009);
    const rec = await session(seen);
    await vi.waitFor(() => expect(rec.closes.map((c) => c.code)).toEqual([1009]));
    expect(rec.messages).toHaveLength(1);
  });

  it('reports 1009 to onClose for a far larger message (uWS drops the TCP connection: client sees 1006)', async () => {
    const { port, seen } = await start(kind);
    const ws = await client(port);
    const done = closed(ws);
    ws.send(new Uint8Array(MAX_PAYLOAD * 4));
    expect((await done).code).toBe(kind === 'uws' ? 1006 : 1009);
    const rec = await session(seen);
    await vi.waitFor(() => expect(rec.closes.map((c) => c.code)).toEqual([1009]));
    expect(rec.messages).toHaveLength(0);
  });

  it('serves HTTP routes: 200, query stripped, async, 404, 500, HEAD', async () => {
    const { port } = await start(kind);
    const ok = await httpRequest(port, '/healthz?verbose=1');
    expect(ok.status).toBe(200);
    expect(ok.body).toBe('ok GET');
    expect(ok.headers['content-type']).toBe('text/plain');
    expect(ok.headers['content-length']).toBe('6');
    const asyncRes = await httpRequest(port, '/async');
    expect([asyncRes.status, asyncRes.body]).toEqual([201, 'hi']);
    expect((await httpRequest(port, '/missing')).status).toBe(404);
    expect((await httpRequest(port, '/boom')).status).toBe(500);
    expect((await httpRequest(port, '/reject')).status).toBe(500);
    const head = await httpRequest(port, '/healthz', 'HEAD');
    expect([head.status, head.body, head.headers['content-length']]).toEqual([200, '', '7']);
    // A plain GET on the ws path is an ordinary HTTP request.
    expect((await httpRequest(port, WS_PATH)).status).toBe(404);
  });

  it.each([64 * 1024, 1024])('reports backpressure to a paused reader and onDrain once it resumes (mark %i B)', async (highWaterBytes) => {
    const { port, seen } = await start(kind, echo, { highWaterBytes });
    const ws = await client(port);
    let received = 0;
    ws.on('message', () => received++);
    const rec = await session(seen);
    ws.pause(); // the client stops reading: kernel buffers fill, then the server's own buffer
    const frame = new Uint8Array(256 * 1024);
    let sent = 0;
    let result: SendResult = 'ok';
    while (sent < 512 && result === 'ok') {
      result = rec.conn.send(frame);
      sent += 1;
    }
    expect(result).toBe('backpressure');
    expect(rec.conn.bufferedBytes()).toBeGreaterThan(highWaterBytes);
    expect(rec.conn.send(frame)).toBe('backpressure'); // still over the mark: queued, reported
    sent += 1;
    await sleep(150);
    expect(rec.drains).toBe(0);
    ws.resume();
    await vi.waitFor(() => expect(rec.drains).toBe(1), { timeout: 10_000 });
    expect(rec.conn.bufferedBytes()).toBeLessThanOrEqual(highWaterBytes / 2);
    await vi.waitFor(() => expect(received).toBe(sent), { timeout: 10_000 });
    expect(rec.drains).toBe(1);
  });

  it('copies frames on send: the caller may reuse its buffer at once', async () => {
    const { port, seen } = await start(kind, echo, { highWaterBytes: 1 << 30 });
    const ws = await client(port);
    const got: number[] = [];
    ws.on('message', (data: Buffer) => got.push(data[0] ?? -1, data[data.length - 1] ?? -1));
    const rec = await session(seen);
    ws.pause(); // force the frames to wait in the server's buffer
    const buf = new Uint8Array(1 << 20);
    for (let i = 1; i <= 16; i++) {
      buf.fill(i);
      rec.conn.send(buf);
    }
    buf.fill(0);
    ws.resume();
    await vi.waitFor(() => expect(got).toHaveLength(32), { timeout: 10_000 });
    expect(got).toEqual(Array.from({ length: 16 }, (_, i) => [i + 1, i + 1]).flat());
  });

  it('stopAccepting refuses new connections and keeps existing ones working', async () => {
    const { server, port } = await start(kind);
    const early = await client(port);
    const idle = await rawSocket(port);
    sockets.push(idle);
    await server.stopAccepting();
    expect(await refusedStatus(port, WS_PATH)).toBe('ECONNREFUSED');
    // An already-open TCP connection cannot sneak an upgrade in either.
    expect(await rawHandshake(idle, WS_PATH)).toBe('HTTP/1.1 503 Service Unavailable');
    const reply = nextMessage(early);
    early.send(new Uint8Array([7, 7]));
    expect([...(await reply).data]).toEqual([7, 7]);
  });

  it('close() terminates every client and reports each onClose once', async () => {
    const { server, port, seen } = await start(kind);
    const a = await client(port);
    const b = await client(port, ['vlp.v1.json']);
    await session(seen, 1);
    const closes = [closed(a), closed(b)];
    await server.close();
    servers.splice(servers.indexOf(server), 1);
    expect((await Promise.all(closes)).map((c) => c.code)).toEqual([1006, 1006]);
    expect(seen.map((r) => r.closes.length)).toEqual([1, 1]);
    expect(seen[0]?.conn.send(new Uint8Array([1]))).toBe('dropped');
    expect(await refusedStatus(port, WS_PATH)).toBe('ECONNREFUSED');
  });

  it('close() is idempotent, concurrent-safe and fine before listen()', async () => {
    const { server, port } = await start(kind);
    await client(port);
    await Promise.all([server.close(), server.close()]);
    await server.close();
    const never = createTransport(kind, {
      host: '127.0.0.1', port: 0, wsPath: WS_PATH, maxPayloadBytes: MAX_PAYLOAD, highWaterBytes: 1024,
      http: routes, handler: recordingHandler().handler,
    });
    await never.close();
  });

  it('reports 1006 once when the client drops the TCP connection', async () => {
    const { port, seen } = await start(kind);
    const ws = await client(port);
    const rec = await session(seen);
    ws.terminate();
    await vi.waitFor(() => expect(rec.closes.map((c) => c.code)).toEqual([1006]));
    expect(rec.conn.send('x')).toBe('dropped');
  });

  it('carries 100 concurrent connections x 100 frames without loss or reordering', async () => {
    const { port, seen } = await start(kind);
    const conns = await Promise.all(Array.from({ length: 100 }, () => client(port)));
    const FRAMES = 100;
    await Promise.all(
      conns.map(
        (ws, c) =>
          new Promise<void>((resolve, reject) => {
            let expected = 0;
            ws.on('message', (data: Buffer) => {
              const from = data.readUInt32LE(0);
              const seq = data.readUInt32LE(4);
              if (from !== c || seq !== expected) reject(new Error(`conn ${c}: got ${from}/${seq}, want ${expected}`));
              expected += 1;
              if (expected === FRAMES) resolve();
            });
            for (let i = 0; i < FRAMES; i++) {
              const frame = Buffer.alloc(8 + 120, i & 0xff);
              frame.writeUInt32LE(c, 0);
              frame.writeUInt32LE(i, 4);
              ws.send(frame);
            }
          }),
      ),
    );
    expect(seen).toHaveLength(100);
    expect(new Set(seen.map((r) => r.conn.id)).size).toBe(100);
    for (const rec of seen) {
      expect(rec.messages.map((m) => Buffer.from(m.data).readUInt32LE(4))).toEqual([...Array(FRAMES).keys()]);
    }
  });
});

describe('ws adapter only', () => {
  it('pings every interval and terminates a client that never answers', async () => {
    const { handler, seen } = recordingHandler();
    const server = createWsTransport(
      { host: '127.0.0.1', port: 0, wsPath: WS_PATH, maxPayloadBytes: MAX_PAYLOAD, highWaterBytes: 1024, handler, http: routes },
      { pingIntervalMs: 40 },
    );
    servers.push(server);
    const port = await server.listen();
    const polite = await client(port); // `ws` answers pings by itself
    const silent = await rawSocket(port);
    sockets.push(silent);
    expect(await rawHandshake(silent, WS_PATH)).toMatch(/^HTTP\/1\.1 101 /);
    const silentGone = new Promise((resolve) => silent.once('close', resolve));
    await silentGone;
    await sleep(200);
    expect(polite.readyState).toBe(WebSocket.OPEN);
    expect(seen.map((r) => r.closes.map((c) => c.code))).toEqual([[], [1006]]);
  });
});

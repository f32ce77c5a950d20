// Integration: the bounds on a session's image work, through real `ws` clients and the real gateway
// with the simulated fleet. A burst of image.put holds at most images.checksInFlight checks (the
// rest get PROTO_RATE_LIMITED and the session goes on), closing a session aborts its URL downloads,
// and a newer image's background description aborts the older one's upstream request.
import { getEventListeners, once } from 'node:events';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorMsg } from '../protocol/messages.ts';
import type { RequestClosedEvent, RequestEvent } from '../sim/tgi/index.ts';
import type { Session } from '../src/session/session.ts';
import { RawClient, startStack, TRANSPORTS, type Stack } from './harness.ts';

/** An image host whose answers wait for the test: it counts requests in flight at once. */
interface SlowHost {
  base: string;
  requests: { path: string; socket: Socket; res: ServerResponse }[];
  inFlight: number;
  maxInFlight: number;
  close(): void;
}

async function slowHost(): Promise<SlowHost> {
  const host: SlowHost = { base: '', requests: [], inFlight: 0, maxInFlight: 0, close: () => undefined };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    host.requests.push({ path: req.url ?? '', socket: req.socket, res });
    host.inFlight++;
    host.maxInFlight = Math.max(host.maxInFlight, host.inFlight);
    req.socket.once('close', () => host.inFlight--);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  host.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  host.close = () => {
    server.closeAllConnections();
    server.close();
  };
  return host;
}

async function png(width: number, height: number, background = 'red'): Promise<Uint8Array> {
  return new Uint8Array(await sharp({ create: { width, height, channels: 3, background } }).png().toBuffer());
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const isImageError = (m: { t: string }): m is ErrorMsg => m.t === 'error' && 'ref' in m && m.ref === 'image.put';

describe.each(TRANSPORTS)('image checks in flight over %s', (transport) => {
  let stack: Stack;
  let host: SlowHost;
  beforeAll(async () => {
    host = await slowHost();
    stack = await startStack(transport, {
      config: { images: { allowedHosts: ['127.0.0.1'], allowPrivate: true, fetchTimeoutMs: 20_000 }, limits: { resumeWindowMs: 0 } },
    });
  });
  afterAll(async () => {
    await stack.close();
    host.close();
  });

  it('a burst of image.put: at most 2 checks in flight, the rest PROTO_RATE_LIMITED naming the image; the session goes on and later puts succeed', async () => {
    const c = await RawClient.session(stack.url);
    const ids = ['u0', 'u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u7'];
    for (const id of ids) c.send({ t: 'image.put', id, url: `${host.base}/${id}.png` });
    // The six beyond the bound are refused, each with its own error naming it.
    for (const id of ids.slice(2)) {
      const err = await c.waitFor<ErrorMsg>((m) => isImageError(m) && m.message.startsWith(`image ${id}:`));
      expect(err).toMatchObject({ code: 'PROTO_RATE_LIMITED', retryable: true, ref: 'image.put' });
      expect(err.message).toContain('not stored');
    }
    await expect.poll(() => host.requests.length).toBe(2);
    await sleep(100);
    expect(host.requests.map((r) => r.path).sort()).toEqual(['/u0.png', '/u1.png']);
    expect(host.maxInFlight).toBe(2);
    expect(c.frames.filter(isImageError)).toHaveLength(6);

    // A put of an id in flight is not refused: it replaces that check (its download is aborted).
    const u0socket = host.requests.find((r) => r.path === '/u0.png')!.socket;
    const u0closed = once(u0socket, 'close');
    c.send({ t: 'image.put', id: 'u0', data: await png(40, 30) });
    await u0closed;

    // The first downloads end: the session is usable, and a refused image can be sent again.
    host.requests.find((r) => r.path === '/u1.png')!.res.writeHead(200, { 'content-type': 'image/png' }).end(await png(64, 48, 'blue'));
    c.send({ t: 'turn.start', id: 't1', text: 'What is in this image?', image: 'u1', params: { max_new_tokens: 3 } });
    await c.waitFor((m) => m.t === 'gen.done' && 'turn' in m && m.turn === 't1');
    c.send({ t: 'turn.start', id: 't0', text: 'What is in this image?', image: 'u0', params: { max_new_tokens: 3 } });
    await c.waitFor((m) => m.t === 'gen.done' && 'turn' in m && m.turn === 't0');
    c.send({ t: 'image.put', id: 'u5', data: await png(32, 32) });
    c.send({ t: 'turn.start', id: 't5', text: 'What is in this image?', image: 'u5', params: { max_new_tokens: 3 } });
    await c.waitFor((m) => m.t === 'gen.done' && 'turn' in m && m.turn === 't5');
    // A refused image that was never sent again is simply unknown.
    c.send({ t: 'turn.start', id: 't7', text: 'And this one?', image: 'u7' });
    expect(await c.waitFor<ErrorMsg>((m) => m.t === 'error' && 'turn' in m && m.turn === 't7')).toMatchObject({ code: 'INPUT_IMAGE_NOT_FOUND' });
    c.send({ t: 'turn.start', id: 't8', text: 'plain text still works', params: { max_new_tokens: 3 } });
    await c.waitFor((m) => m.t === 'gen.done' && 'turn' in m && m.turn === 't8');
    expect(c.frames.filter(isImageError)).toHaveLength(6);
    expect(c.closeCode).toBeUndefined();
    c.close();
  });

  it('closing the session aborts a URL download in flight: the socket closes within 200 ms', async () => {
    const before = host.requests.length;
    const c = await RawClient.session(stack.url);
    c.send({ t: 'image.put', id: 'slow', url: `${host.base}/never-ends.png` });
    await expect.poll(() => host.requests.length).toBe(before + 1);
    const req = host.requests[before]!;
    // Headers and the first bytes of a PNG, then nothing: the download hangs.
    req.res.writeHead(200, { 'content-type': 'image/png' });
    req.res.write(Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    await sleep(50);
    const closed = once(req.socket, 'close');
    const t0 = performance.now();
    c.close(); // resumeWindowMs 0: the connection's end closes the session
    await closed;
    expect(performance.now() - t0).toBeLessThan(200);
  });
});

describe('background image descriptions in flight', () => {
  let stack: Stack;
  beforeAll(async () => {
    // A slow vision model: a description stays in flight for 1.5 s.
    stack = await startStack('ws', { config: { images: { describe: true } }, sim: { ttftMs: 1500 } });
  });
  afterAll(async () => {
    await stack.close();
  });

  it('a second image\'s description aborts the first one\'s upstream request; the session signal keeps no listener of them', async () => {
    const requests: RequestEvent[] = [];
    const closes: RequestClosedEvent[] = [];
    stack.vlm.events.on('request', (e) => requests.push(e));
    stack.vlm.events.on('request-closed', (e) => closes.push(e));
    const c = await RawClient.session(stack.url);
    const session = [...stack.gw.sessions.values()][0];
    expect(session).toBeDefined();
    // The session's lifetime signal (private to Session): what descriptions listen on.
    const lifetime = (session as unknown as { lifetime: AbortController }).lifetime.signal;
    const baseline = getEventListeners(lifetime, 'abort').length;

    c.send({ t: 'image.put', id: 'a', data: await png(64, 48, 'red') });
    await expect.poll(() => requests.length, { timeout: 3000 }).toBe(1);
    const first = requests[0]!;
    const t0 = performance.now();
    c.send({ t: 'image.put', id: 'b', data: await png(64, 48, 'green') });
    await expect.poll(() => closes.find((e) => e.id === first.id), { timeout: 1000 }).toMatchObject({ completed: false });
    expect(closes.find((e) => e.id === first.id)!.atMs - t0).toBeLessThan(1000);
    await expect.poll(() => requests.length, { timeout: 3000 }).toBe(2);
    const second = requests[1]!;
    // One description in flight: the session's images (1) and that description (1).
    expect(getEventListeners(lifetime, 'abort').length).toBeLessThanOrEqual(baseline + 2);
    await expect.poll(() => closes.find((e) => e.id === second.id), { timeout: 5000 }).toMatchObject({ completed: true });
    // The description ended: only the session's images keep their one listener.
    await expect.poll(() => getEventListeners(lifetime, 'abort').length).toBe(baseline + 1);
    expect(requests).toHaveLength(2);
    c.close();
  });

  it('of two images put back to back only the newest is described', async () => {
    const closes: RequestClosedEvent[] = [];
    const onClosed = (e: RequestClosedEvent): void => void closes.push(e);
    stack.vlm.events.on('request-closed', onClosed);
    try {
      const c = await RawClient.session(stack.url);
      const [x, y] = await Promise.all([png(64, 48, 'red'), png(48, 64, 'blue')]);
      c.send({ t: 'image.put', id: 'x', data: x });
      c.send({ t: 'image.put', id: 'y', data: y });
      let session: Session | undefined;
      await expect.poll(() => (session = [...stack.gw.sessions.values()].find((s) => s.latestImageId === 'y')), { timeout: 3000 }).toBeDefined();
      await expect.poll(() => session?.imageDescription('y'), { timeout: 5000 }).toBeDefined();
      expect(session?.imageDescription('x')).toBeUndefined();
      // Whatever the order the checks ended in, one description ran to its end.
      expect(closes.filter((e) => e.completed)).toHaveLength(1);
      c.close();
    } finally {
      stack.vlm.events.off('request-closed', onClosed);
    }
  });
});

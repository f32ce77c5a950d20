// SessionImages: the bound on image.put checks in flight (a put of another id beyond it is refused
// and changes nothing), a put of an id in flight replacing the older one (one check runs per id),
// and the session's end stopping checks in flight, URL downloads included.
import { getEventListeners, once } from 'node:events';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { VlpError } from '../../protocol/errors.ts';
import type { ImagePutMsg } from '../../protocol/messages.ts';
import { ConfigSchema } from '../config/schema.ts';
import type { Config } from '../config/schema.ts';
import { jpeg } from '../images/test-images.ts';
import { SessionImages } from './images.ts';
import type { PutOutcome } from './images.ts';

const servers: Server[] = [];

afterEach(() => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    s.close();
  }
});

interface Served {
  base: string;
  /** Request paths and sockets, in arrival order. */
  requests: { path: string; socket: Socket; res: ServerResponse }[];
}

/** An image server whose answers wait until the test sends them (`requests[i].res`). */
async function stalledServer(): Promise<Served> {
  const requests: Served['requests'] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    requests.push({ path: req.url ?? '', socket: req.socket, res });
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { base: `http://127.0.0.1:${port}`, requests };
}

function config(images: Record<string, unknown> = {}): Config {
  return ConfigSchema.parse({ logLevel: 'silent', images: { allowedHosts: ['127.0.0.1'], allowPrivate: true, fetchTimeoutMs: 20_000, ...images } });
}

const put = (id: string, data: Uint8Array): ImagePutMsg => ({ t: 'image.put', id, data });
const putUrl = (id: string, url: string): ImagePutMsg => ({ t: 'image.put', id, url });


async function rejection(p: Promise<unknown>): Promise<VlpError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof VlpError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

describe('SessionImages: checks in flight', () => {
  it('refuses a put of a third id while two are checked (PROTO_RATE_LIMITED), storing nothing; later puts succeed', async () => {
    const images = new SessionImages(config(), new AbortController().signal);
    const [a, b, c] = await Promise.all([jpeg(64, 48), jpeg(32, 32), jpeg(16, 16)]);
    images.setDescription('c', 'kept');
    const pa = images.put(put('a', a));
    const pb = images.put(put('b', b));
    expect(images.inFlight).toBe(2);
    const refused = images.refusal('c');
    expect(refused).toBeInstanceOf(VlpError);
    expect(refused?.code).toBe('PROTO_RATE_LIMITED');
    expect(refused?.message).toContain('not stored');
    const err = await rejection(images.put(put('c', c)));
    expect(err.code).toBe('PROTO_RATE_LIMITED');
    expect(images.inFlight).toBe(2);
    // An id in flight is never refused (its put would replace the running one).
    expect(images.refusal('a')).toBeUndefined();
    expect(await Promise.all([pa, pb])).toEqual(['stored', 'stored']);
    expect(images.inFlight).toBe(0);
    // The refusal changed nothing: no image, no failure recorded, the description untouched.
    expect(await images.get('c')).toBeUndefined();
    expect(images.failure('c')).toBeUndefined();
    expect(images.description('c')).toBe('kept');
    expect(await images.put(put('c', c))).toBe('stored');
    expect((await images.get('c'))?.width).toBe(16);
  });

  it('honours images.checksInFlight', async () => {
    const images = new SessionImages(config({ checksInFlight: 3 }), new AbortController().signal);
    const img = await jpeg(16, 16);
    const puts = ['a', 'b', 'c'].map((id) => images.put(put(id, img)));
    expect(images.refusal('d')?.code).toBe('PROTO_RATE_LIMITED');
    expect(await Promise.all(puts)).toEqual(['stored', 'stored', 'stored']);
  });

  it('a put of an id in flight replaces it: the older results are ignored, the newest is stored', async () => {
    const images = new SessionImages(config(), new AbortController().signal);
    const [first, second, third] = await Promise.all([jpeg(64, 48), jpeg(32, 32), jpeg(16, 8)]);
    const order: string[] = [];
    const track = (name: string, p: Promise<PutOutcome>): Promise<PutOutcome> => p.then((o) => (order.push(name), o));
    const p1 = track('first', images.put(put('a', first)));
    const p2 = track('second', images.put(put('a', second)));
    const p3 = track('third', images.put(put('a', third)));
    expect(images.inFlight).toBe(1);
    // A turn naming the image waits for the newest put, not for the replaced ones.
    const got = images.get('a');
    expect(await Promise.all([p1, p2, p3])).toEqual(['dropped', 'dropped', 'stored']);
    // The second never started: it is dropped as soon as the third replaces it.
    expect(order[0]).toBe('second');
    expect(await got).toMatchObject({ width: 16, height: 8 });
  });

  it('a replaced put\'s failure is not reported nor recorded', async () => {
    const images = new SessionImages(config(), new AbortController().signal);
    const img = await jpeg(8, 8);
    const junk = images.put(put('a', new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])));
    const good = images.put(put('a', img));
    expect(await junk).toBe('dropped');
    expect(await good).toBe('stored');
    expect(images.failure('a')).toBeUndefined();
  });

  it('replacing a URL put aborts its download, and the new check starts once the old connection closed', async () => {
    const srv = await stalledServer();
    const images = new SessionImages(config(), new AbortController().signal);
    const old = images.put(putUrl('a', `${srv.base}/old.jpg`));
    await expect.poll(() => srv.requests.length, { timeout: 3000, interval: 5 }).toBe(1);
    const oldSocket = srv.requests[0]!.socket;
    let oldClosedAt = 0;
    oldSocket.once('close', () => (oldClosedAt = performance.now()));
    const t0 = performance.now();
    const next = images.put(putUrl('a', `${srv.base}/new.jpg`));
    expect(await old).toBe('dropped');
    await expect.poll(() => srv.requests.length, { timeout: 3000, interval: 5 }).toBe(2);
    expect(oldClosedAt).toBeGreaterThan(0);
    expect(oldClosedAt - t0).toBeLessThan(200);
    const img = await jpeg(24, 12);
    srv.requests[1]!.res.writeHead(200, { 'content-type': 'image/jpeg' }).end(img);
    expect(await next).toBe('stored');
    expect(await images.get('a')).toMatchObject({ width: 24, height: 12 });
  });
});

describe('SessionImages: the session ends', () => {
  it('aborts a URL download in flight within 200 ms, stores nothing and frees the slot', async () => {
    const srv = await stalledServer();
    const lifetime = new AbortController();
    const images = new SessionImages(config(), lifetime.signal);
    const p = images.put(putUrl('u', `${srv.base}/slow.jpg`));
    await expect.poll(() => srv.requests.length, { timeout: 3000, interval: 5 }).toBe(1);
    srv.requests[0]!.res.writeHead(200, { 'content-type': 'image/jpeg' });
    srv.requests[0]!.res.write(Buffer.from([0xff, 0xd8, 0xff, 0xe0]));
    const closed = once(srv.requests[0]!.socket, 'close');
    const t0 = performance.now();
    lifetime.abort();
    await closed;
    expect(performance.now() - t0).toBeLessThan(200);
    expect(await p).toBe('dropped');
    expect(images.inFlight).toBe(0);
    expect(await images.get('u')).toBeUndefined();
    expect(images.failure('u')).toBeUndefined();
    // After the end, a put does nothing.
    expect(await images.put(put('v', await jpeg(8, 8)))).toBe('dropped');
    expect(await images.get('v')).toBeUndefined();
  });

  it('adds one listener to the session signal, not one per check', async () => {
    const lifetime = new AbortController();
    const images = new SessionImages(config(), lifetime.signal);
    const png = new Uint8Array(await sharp({ create: { width: 4, height: 4, channels: 3, background: 'red' } }).png().toBuffer());
    for (let i = 0; i < 5; i++) await images.put(put(`i${i}`, png));
    expect(getEventListeners(lifetime.signal, 'abort')).toHaveLength(1);
  });
});

// fetchImage's caller signal (the session's lifetime, a replaced image.put): aborting it closes the
// download's connection at once and rejects with an AbortError, not a VlpError; the listener it
// adds to the signal goes when the fetch ends.
import { getEventListeners, once } from 'node:events';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { VlpError } from '../../protocol/errors.ts';
import { fetchImage } from './fetch.ts';
import type { FetchPolicy } from './fetch.ts';
import type { HostResolver, VettedAddress } from './resolve.ts';
import { jpeg } from './test-images.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const servers: Server[] = [];

interface Served {
  base: string;
  /** Sockets of the requests so far, in arrival order. */
  sockets: Socket[];
}

async function serve(handler: Handler): Promise<Served> {
  const sockets: Socket[] = [];
  const server = createServer((req, res) => {
    sockets.push(req.socket);
    handler(req, res);
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { base: `http://127.0.0.1:${port}`, sockets };
}

afterEach(() => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    s.close();
  }
});

/** A long deadline, so only the caller's signal can end a stalled fetch within a test. */
const LOCAL: FetchPolicy = { allowedHosts: ['127.0.0.1'], allowPrivate: true, maxBytes: 1 << 20, timeoutMs: 20_000, maxRedirects: 3 };

/** Answers headers and a first chunk of a JPEG, then never finishes the body. */
const stalled: Handler = (_req, res) => {
  res.writeHead(200, { 'content-type': 'image/jpeg' });
  res.write(Buffer.from([0xff, 0xd8, 0xff, 0xe0]));
};

/** The server socket's close. The client's abort may reset the connection (RST): the server socket
 *  then emits ECONNRESET before 'close', which events.once would turn into a rejection. */
function closeOf(socket: Socket): Promise<void> {
  socket.on('error', () => undefined);
  return new Promise((resolve) => socket.once('close', () => resolve()));
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the fetch to fail');
}


describe('fetchImage: the caller signal', () => {
  it('aborting mid-body closes the connection within 200 ms and rejects with an AbortError', async () => {
    const srv = await serve(stalled);
    const caller = new AbortController();
    const fetching = rejection(fetchImage(`${srv.base}/slow.jpg`, LOCAL, { signal: caller.signal }));
    await expect.poll(() => srv.sockets.length, { timeout: 3000, interval: 5 }).toBe(1);
    const socket = srv.sockets[0]!;
    const closed = closeOf(socket);
    const t0 = performance.now();
    caller.abort();
    await closed;
    expect(performance.now() - t0).toBeLessThan(200);
    const err = await fetching;
    expect(err).not.toBeInstanceOf(VlpError);
    expect(err).toMatchObject({ name: 'AbortError' });
  });

  it('aborting before the response headers closes the connection too', async () => {
    const srv = await serve(() => undefined); // never answers
    const caller = new AbortController();
    const fetching = rejection(fetchImage(`${srv.base}/never.jpg`, LOCAL, { signal: caller.signal }));
    await expect.poll(() => srv.sockets.length, { timeout: 3000, interval: 5 }).toBe(1);
    const closed = closeOf(srv.sockets[0]!);
    caller.abort();
    await closed;
    expect(await fetching).toMatchObject({ name: 'AbortError' });
  });

  it('an already aborted signal fails before any lookup or connection', async () => {
    const srv = await serve(stalled);
    const lookups: string[] = [];
    const resolver: HostResolver = async (host: string): Promise<VettedAddress[]> => {
      lookups.push(host);
      return [{ address: '127.0.0.1', family: 4 }];
    };
    const port = new URL(srv.base).port;
    const err = await rejection(fetchImage(`http://images.test:${port}/x.jpg`, { ...LOCAL, allowedHosts: ['images.test'] }, { resolver, signal: AbortSignal.abort() }));
    expect(err).toMatchObject({ name: 'AbortError' });
    expect(lookups).toEqual([]);
    expect(srv.sockets).toEqual([]);
  });

  it('removes its listener from the signal when the fetch ends, fetched or failed', async () => {
    const img = await jpeg();
    const srv = await serve((req, res) => {
      if (req.url === '/missing.jpg') res.writeHead(404).end();
      else res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': img.byteLength }).end(img);
    });
    const session = new AbortController();
    const got = await fetchImage(`${srv.base}/cat.jpg`, LOCAL, { signal: session.signal });
    expect(got.byteLength).toBe(img.byteLength);
    expect(getEventListeners(session.signal, 'abort')).toHaveLength(0);
    expect(await rejection(fetchImage(`${srv.base}/missing.jpg`, LOCAL, { signal: session.signal }))).toMatchObject({ code: 'INPUT_IMAGE_INVALID' });
    expect(getEventListeners(session.signal, 'abort')).toHaveLength(0);
  });

  it('still reports its own deadline as a timeout (INPUT_IMAGE_INVALID) when the caller did not abort', async () => {
    const srv = await serve(stalled);
    const caller = new AbortController();
    const err = await rejection(fetchImage(`${srv.base}/slow.jpg`, { ...LOCAL, timeoutMs: 150 }, { signal: caller.signal }));
    expect(err).toBeInstanceOf(VlpError);
    expect(err).toMatchObject({ code: 'INPUT_IMAGE_INVALID', message: expect.stringContaining('timed out') as string });
  });
});

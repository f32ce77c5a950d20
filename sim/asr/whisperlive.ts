// Simulated WhisperLive server (collabora/WhisperLive, faster_whisper backend), speaking its exact
// WebSocket protocol (shared/reference/backend-protocols.md §5): a JSON options frame, SERVER_READY
// after the model loads, float32 audio frames, `segments` windows of completed segments plus the
// partial in progress, a binary END_OF_AUDIO that ends the session, WAIT when full, ERROR when the
// model fails to load, DISCONNECT after max_connection_time. SIMULATED: no model runs; the words come
// from the clip book (registered clips) or are placeholders sized to the speech.
//
// This file: the server (uWebSockets.js: WebSocket framing, unmasking and socket reads in C++, about
// half the CPU per audio frame of the `ws` server, which matters when a benchmark's load generator
// and this simulator share one core for 1000 real-time streams), the fault admin route, and the
// plain-HTTP answer python-websockets gives. Per-connection behaviour: whisperlive-conn.ts.
import { EventEmitter } from 'node:events';
import { STATUS_CODES } from 'node:http';
import { performance } from 'node:perf_hooks';
import uWS from 'uWebSockets.js';
import type { HttpResponse, TemplatedApp, WebSocket as UwsWebSocket, us_listen_socket } from 'uWebSockets.js';
import { loadClipBook } from './clip-book.ts';
import { SUBS_PER_SECOND } from './fingerprint.ts';
import { Conn, type Shared } from './whisperlive-conn.ts';
import { WHISPERLIVE_ADMIN_PATH, WHISPERLIVE_FAULT_KINDS, type WhisperLiveFaultKind, type WhisperLiveSim, type WhisperLiveSimEvents, type WhisperLiveSimOptions, type WlSocket } from './whisperlive-types.ts';

export { END_OF_AUDIO } from './whisperlive-types.ts';
export * from './whisperlive-types.ts';

/** python-websockets' default max_size: a larger message fails the connection with 1009. */
const MAX_MESSAGE_BYTES = 1 << 20;
/** What the admin route reads of a request body, bytes. */
const MAX_ADMIN_BODY = 65_536;
/** Sends are never dropped (python-websockets buffers whatever the client does not read). */
const MAX_BACKPRESSURE_BYTES = 64 * 1024 * 1024;

/** The native addon has App#close(); the fork's .d.ts predates it (as in src/transport/uws.ts). */
interface ClosableApp extends TemplatedApp {
  close?(): void;
}

interface UserData {
  sock: UwsSocket | undefined;
}

/** WlSocket over a uWS WebSocket; never touches the native object once uWS reported it closed. */
class UwsSocket implements WlSocket {
  conn: Conn | undefined;
  /** The native socket is gone (uWS close handler ran). */
  gone = false;
  /** A close frame was sent or the socket dropped by us. */
  private closing = false;

  constructor(private readonly ws: UwsWebSocket<UserData>) {}

  get open(): boolean {
    return !this.gone && !this.closing;
  }

  sendText(text: string): void {
    if (this.open) this.ws.send(text, false);
  }

  end(code: number): void {
    if (!this.open) return;
    this.closing = true;
    this.ws.end(code);
  }

  terminate(): void {
    if (this.gone) return;
    this.closing = true;
    this.ws.close();
  }
}

function isFaultKind(v: unknown): v is WhisperLiveFaultKind {
  return typeof v === 'string' && (WHISPERLIVE_FAULT_KINDS as readonly string[]).includes(v);
}

function respond(res: HttpResponse, status: number, body: string, headers: Record<string, string>): void {
  res.cork(() => {
    res.writeStatus(`${status} ${STATUS_CODES[status] ?? ''}`);
    for (const [k, v] of Object.entries(headers)) res.writeHeader(k, v);
    res.end(body); // uWS writes Content-Length itself
  });
}

const respondJson = (res: HttpResponse, status: number, body: unknown): void => respond(res, status, JSON.stringify(body), { 'content-type': 'application/json' });

/** The fault queue: GET lists it, DELETE clears it, POST {"kind", "count", "afterSegments"} adds. */
function admin(sh: Shared, method: string, res: HttpResponse): void {
  const list = (): unknown => sh.queue.map((q) => ({ kind: q.fault.kind, remaining: q.remaining, afterSegments: q.fault.afterSegments ?? 1 }));
  if (method === 'GET') return respondJson(res, 200, { queued: list() });
  if (method === 'DELETE') {
    const n = sh.queue.reduce((a, q) => a + q.remaining, 0);
    sh.queue.length = 0;
    return respondJson(res, 200, { cleared: n });
  }
  if (method !== 'POST') return respond(res, 405, 'Method Not Allowed\n', { 'content-type': 'text/plain; charset=utf-8', allow: 'GET,POST,DELETE' });
  const parts: Buffer[] = [];
  let size = 0;
  let aborted = false;
  res.onAborted(() => {
    aborted = true;
  });
  res.onData((chunk, isLast) => {
    if (aborted) return;
    if (size < MAX_ADMIN_BODY) {
      const take = Math.min(chunk.byteLength, MAX_ADMIN_BODY - size);
      parts.push(Buffer.from(chunk.slice(0, take))); // the chunk is valid only now: copied
      size += take;
    }
    if (!isLast) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.concat(parts).toString('utf8'));
    } catch {
      return respondJson(res, 400, { error: 'body must be JSON: {"kind": "...", "count": 1, "afterSegments": 1}', kinds: WHISPERLIVE_FAULT_KINDS });
    }
    const { kind, count, afterSegments } = (parsed ?? {}) as { kind?: unknown; count?: unknown; afterSegments?: unknown };
    if (!isFaultKind(kind)) return respondJson(res, 400, { error: `unknown fault kind ${JSON.stringify(kind)}`, kinds: WHISPERLIVE_FAULT_KINDS });
    const n = count ?? 1;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) return respondJson(res, 400, { error: '`count` must be a positive integer' });
    if (afterSegments !== undefined && (typeof afterSegments !== 'number' || !Number.isInteger(afterSegments) || afterSegments < 0)) {
      return respondJson(res, 400, { error: '`afterSegments` must be a non-negative integer' });
    }
    sh.queue.push({ fault: afterSegments === undefined ? { kind } : { kind, afterSegments }, remaining: n });
    return respondJson(res, 200, { queued: list() });
  });
}

// What python-websockets answers to a plain HTTP request.
const NOT_WEBSOCKET =
  'Failed to open a WebSocket connection: missing Connection header.\n\nYou cannot access a WebSocket server directly with a browser. You need a WebSocket client.\n';

function pick(v: number | undefined, d: number): number {
  return v === undefined || !Number.isFinite(v) ? d : Math.max(0, v);
}

/** Start a simulated WhisperLive server. */
export async function startWhisperLiveSim(opts: WhisperLiveSimOptions = {}): Promise<WhisperLiveSim> {
  const sh: Shared = {
    timing: {
      modelLoadMs: pick(opts.modelLoadMs, 500),
      partialEveryMs: Math.max(10, pick(opts.partialEveryMs, 400)),
      endSilenceSubs: Math.max(1, Math.round((pick(opts.endSilenceMs, 500) * SUBS_PER_SECOND) / 1000)),
      finalizeDelayMs: pick(opts.finalizeDelayMs, 250),
      jitter: Math.min(1, pick(opts.jitter, 0.2)),
      maxConnectionTimeS: pick(opts.maxConnectionTimeS, 300),
    },
    book: opts.clipBook ?? loadClipBook(),
    events: new EventEmitter<WhisperLiveSimEvents>(),
    stats: { connections: 0, open: 0, clients: 0, frames: 0, bytes: 0, segmentsMessages: 0, endOfAudio: 0, rejectedFull: 0 },
    byUid: new Map(),
    clients: new Set(),
    conns: new Set(),
    watchAudio: opts.watchAudio,
    maxClients: Math.max(0, Math.floor(pick(opts.maxClients, 1024))),
    backend: opts.backend ?? 'faster_whisper',
    seed: opts.seed ?? 1,
    defaultFault: opts.fault,
    queue: [],
  };
  let nextId = 0;
  const app: ClosableApp = uWS.App();

  const closed = (sock: UwsSocket): void => {
    sock.gone = true;
    const conn = sock.conn;
    if (conn === undefined) return;
    if (conn.closedReason === null) conn.closedReason = 'client_closed';
    conn.cleanup();
    sh.conns.delete(conn);
    sh.stats.open--;
    sh.stats.clients = sh.clients.size;
    if (conn.record) {
      conn.record.open = false;
      conn.record.closedReason ??= conn.closedReason;
    }
    sh.events.emit('closed', { id: conn.id, uid: conn.uid, reason: conn.closedReason, atMs: performance.now(), frames: conn.frames, bytes: conn.bytes });
  };

  app.ws<UserData>('/*', {
    // python-websockets: no compression negotiated with the Python client, max_size 1 MiB (a
    // larger message is refused below with 1009, as python-websockets does).
    compression: uWS.DISABLED,
    maxPayloadLength: 2 * MAX_MESSAGE_BYTES,
    maxBackpressure: MAX_BACKPRESSURE_BYTES,
    idleTimeout: 0,
    sendPingsAutomatically: false,

    upgrade: (res, req, context) => {
      // `req` dies when this callback returns: read every header first.
      const key = req.getHeader('sec-websocket-key');
      const protocol = req.getHeader('sec-websocket-protocol');
      const extensions = req.getHeader('sec-websocket-extensions');
      if (opts.apiKey !== undefined) {
        const auth = req.getHeader('authorization');
        const token = new URLSearchParams(req.getQuery() ?? '').get('token');
        if (auth !== `Bearer ${opts.apiKey}` && token !== opts.apiKey) {
          res.writeStatus('401 Unauthorized').writeHeader('content-type', 'text/plain; charset=utf-8').writeHeader('connection', 'close').end('Unauthorized\n', true);
          return;
        }
      }
      res.upgrade<UserData>({ sock: undefined }, key, protocol, extensions, context);
    },

    open: (ws) => {
      const sock = new UwsSocket(ws);
      ws.getUserData().sock = sock;
      const conn = new Conn(++nextId, sock, sh);
      sock.conn = conn;
      sh.conns.add(conn);
      sh.stats.connections++;
      sh.stats.open++;
    },

    message: (ws, message, isBinary) => {
      const sock = ws.getUserData().sock;
      if (sock?.conn === undefined) return;
      if (message.byteLength > MAX_MESSAGE_BYTES) return sock.end(1009);
      // uWS's buffer, valid only during this call (Conn copies what it keeps).
      sock.conn.onMessage(message, isBinary);
    },

    close: (ws) => {
      const sock = ws.getUserData().sock;
      if (sock !== undefined) closed(sock);
    },
  });

  app.any('/*', (res, req) => {
    const method = req.getCaseSensitiveMethod();
    if (req.getUrl() === WHISPERLIVE_ADMIN_PATH) return admin(sh, method, res);
    respond(res, 426, NOT_WEBSOCKET, { 'content-type': 'text/plain; charset=utf-8', upgrade: 'websocket', connection: 'Upgrade' });
  });

  const host = opts.host ?? '127.0.0.1';
  const listenSocket = await new Promise<us_listen_socket>((resolve, reject) => {
    app.listen(host, opts.port ?? 0, (ls) => {
      if (ls === false) reject(new Error(`WhisperLive simulator: cannot listen on ${host}:${opts.port ?? 0}`));
      else resolve(ls);
    });
  });
  const port = uWS.us_socket_local_port(listenSocket);
  let closing: Promise<void> | undefined;
  return {
    url: `ws://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    events: sh.events,
    stats: () => ({ ...sh.stats, clients: sh.clients.size }),
    client: (uid) => {
      const r = sh.byUid.get(uid);
      return r && { ...r };
    },
    queueFault: (fault, count = 1) => {
      if (count > 0) sh.queue.push({ fault, remaining: Math.floor(count) });
    },
    clearFaults: () => {
      const n = sh.queue.reduce((a, q) => a + q.remaining, 0);
      sh.queue.length = 0;
      return n;
    },
    close: () => {
      closing ??= (async () => {
        uWS.us_listen_socket_close(listenSocket);
        for (const c of [...sh.conns]) {
          if (c.closedReason === null) c.closedReason = 'server_closed';
          c.cleanup();
          c.ws.terminate();
        }
        app.close?.(); // idle HTTP keep-alive sockets too
        // uWS may deliver close handlers of terminated sockets in a microtask: let them run.
        await new Promise<void>((resolve) => setImmediate(resolve));
      })();
      return closing;
    },
  };
}

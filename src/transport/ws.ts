// WebSocket transport on node:http + the `ws` library: upgrades on one path, plain HTTP elsewhere,
// 'backpressure' from ws.bufferedAmount and onDrain from the underlying socket's own 'drain' event.
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { getDefaultHighWaterMark } from 'node:stream';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import type { RawData } from 'ws';
import type { Subprotocol } from '../../protocol/messages.ts';
import {
  BodyCollector,
  EMPTY_BODY,
  PAYLOAD_TOO_LARGE,
  declaresTooLarge,
  isFramingHeader,
  readsBody,
  runHttpHandler,
} from './http-routes.ts';
import { negotiateSubprotocol } from './types.ts';
import type {
  Connection,
  ConnectionGrant,
  ConnectionListener,
  HttpHandler,
  HttpRequestInfo,
  HttpResponse,
  SendResult,
  TransportOptions,
  TransportServer,
} from './types.ts';
import {
  assertSendableCloseCode,
  clampCloseReason,
  nextConnectionId,
  parseProtocolHeader,
  pathOf,
} from './wire-rules.ts';
import { KeepaliveWheel } from './keepalive-wheel.ts';

/** Knobs tests turn; production uses the defaults. */
export interface WsTransportTuning {
  /** Keepalive ping period, ms; a connection with no pong since the previous ping is terminated. */
  pingIntervalMs?: number;
}

const DEFAULT_PING_INTERVAL_MS = 20_000;

/** Close codes for the errors `ws` raises on a bad incoming frame (it sends the same code to the
 *  peer, but then reports 1006 locally because the peer never answers once the reader stops). */
function closeCodeForWsError(code: string | undefined): number | undefined {
  switch (code) {
    case 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH':
    case 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH':
      return 1009;
    case 'WS_ERR_INVALID_UTF8':
      return 1007;
    default:
      return code !== undefined && code.startsWith('WS_ERR_') ? 1002 : undefined;
  }
}

/** A FIN data frame, text or binary (by subprotocol), server-to-client so unmasked. */
function preFrame(data: Uint8Array | string, text: boolean): Buffer {
  const len = typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
  const hdr = len < 126 ? 2 : len < 65_536 ? 4 : 10;
  const buf = Buffer.allocUnsafe(hdr + len);
  buf[0] = text ? 0x81 : 0x82;
  if (len < 126) buf[1] = len;
  else if (len < 65_536) {
    buf[1] = 126;
    buf.writeUInt16BE(len, 2);
  } else {
    buf[1] = 127;
    buf.writeUInt32BE(Math.floor(len / 2 ** 32), 2);
    buf.writeUInt32BE(len >>> 0, 6);
  }
  if (typeof data === 'string') buf.write(data, hdr, 'utf8');
  else buf.set(data, hdr);
  return buf;
}

class WsConnection implements Connection {
  readonly id = nextConnectionId();
  listener: ConnectionListener | undefined;
  /** Saw a pong (or just opened) since the last keepalive ping. */
  alive = true;
  /** A send returned 'backpressure' and onDrain has not been called since. */
  private wantDrain = false;
  private closeDelivered = false;
  /** The close frame we sent first (our close() or ws's protocol-error close). onClose reports
   *  it, as uWS does, rather than the peer's echo (ws clients echo the code without the reason)
   *  or the 1006 ws reports when the peer never answers. */
  private localClose: { code: number; reason: string } | undefined;

  constructor(
    private readonly ws: WebSocket,
    readonly subprotocol: Subprotocol,
    readonly remote: string,
    private readonly highWaterBytes: number,
    /** The upgraded socket ws itself writes to; data frames are written to it pre-framed. */
    private readonly socket: Duplex,
    readonly grant?: ConnectionGrant,
  ) {
    this.textFrames = subprotocol === 'vlp.v1.json';
  }

  /** vlp.v1.json speaks text frames, vlp.v1.msgpack binary ones, whatever send() is handed. */
  private readonly textFrames: boolean;

  send(frame: Uint8Array | string): SendResult {
    const ws = this.ws;
    if (ws.readyState !== WebSocket.OPEN) return 'dropped';
    // Hot path: one complete, unmasked server frame (RFC 6455 §5.2) in one buffer and one write.
    // ws.send would write header and payload as two buffers (a writev per frame) and copy anyway.
    // Interleaving with ws's own writes (pings, close) is safe: with compression off ws writes
    // each frame synchronously, whole, and bufferedAmount still counts these bytes.
    this.socket.write(preFrame(frame, this.textFrames));
    if (ws.bufferedAmount > this.highWaterBytes) {
      this.wantDrain = true;
      return 'backpressure';
    }
    return 'ok';
  }

  bufferedBytes(): number {
    return this.ws.bufferedAmount;
  }

  close(code: number, reason: string): void {
    assertSendableCloseCode(code);
    if (this.ws.readyState !== WebSocket.OPEN) return;
    const clamped = clampCloseReason(reason);
    this.localClose = { code, reason: clamped };
    this.ws.close(code, clamped);
  }

  terminate(): void {
    this.ws.terminate();
  }

  /** The net.Socket emptied its write buffer (it only says so after a write returned false). */
  socketDrained(): void {
    if (!this.wantDrain || this.ws.readyState !== WebSocket.OPEN) return;
    if (this.ws.bufferedAmount > this.highWaterBytes / 2) return;
    this.wantDrain = false;
    this.listener?.onDrain();
  }

  keepaliveTick(): void {
    if (!this.alive) {
      this.ws.terminate();
      return;
    }
    this.alive = false;
    if (this.ws.readyState === WebSocket.OPEN) this.ws.ping();
  }

  noteError(err: Error & { code?: string }): void {
    if (this.localClose !== undefined) return;
    const code = closeCodeForWsError(err.code);
    if (code !== undefined) this.localClose = { code, reason: '' };
  }

  deliverClose(code: number, reason: Buffer): void {
    if (this.closeDelivered) return;
    this.closeDelivered = true;
    const local = this.localClose;
    if (local !== undefined) this.listener?.onClose(local.code, local.reason);
    else this.listener?.onClose(code, reason.toString('utf8'));
  }
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data;
}

function remoteOf(req: IncomingMessage): string {
  const { remoteAddress, remotePort } = req.socket;
  const host = remoteAddress === undefined ? '?' : remoteAddress.includes(':') ? `[${remoteAddress}]` : remoteAddress;
  return `${host}:${remotePort ?? '?'}`;
}

/** Answer an upgrade request with a plain HTTP response and drop the socket (as ws does itself):
 *  the status's text as a plain-text body, or the gate's response with its headers. */
function refuseUpgrade(socket: Duplex, status: number, response?: HttpResponse): void {
  const text = http.STATUS_CODES[status] ?? 'Error';
  const body = response === undefined ? Buffer.from(text) : typeof response.body === 'string' ? Buffer.from(response.body, 'utf8') : Buffer.from(response.body);
  let head = `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\n`;
  if (response === undefined) head += 'Content-Type: text/plain\r\n';
  // Header values come from the gateway's own code (constants), never from the request.
  else for (const [k, v] of Object.entries(response.headers)) if (!isFramingHeader(k)) head += `${k}: ${v}\r\n`;
  socket.on('error', () => socket.destroy());
  socket.once('finish', () => socket.destroy());
  socket.end(Buffer.concat([Buffer.from(`${head}Content-Length: ${body.byteLength}\r\n\r\n`, 'latin1'), body]));
}

/** A node:http header (repeated ones joined, as node does for most) by lower-case name. */
function headerOf(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  const joined = Array.isArray(v) ? v.join(', ') : v;
  return joined === '' ? undefined : joined;
}

function writeResponse(res: ServerResponse, method: string, r: HttpResponse, closeAfter = false): void {
  if (res.headersSent || res.destroyed) return;
  try {
    const body = typeof r.body === 'string' ? Buffer.from(r.body, 'utf8') : r.body;
    const headers: Record<string, string | number> = {};
    for (const [k, v] of Object.entries(r.headers)) if (!isFramingHeader(k)) headers[k] = v;
    headers['content-length'] = body.byteLength;
    if (closeAfter) headers.connection = 'close';
    res.writeHead(r.status, headers);
    res.end(method === 'HEAD' ? undefined : body);
  } catch {
    res.destroy(); // e.g. an invalid header value from the handler
  }
}

function serveHttp(handler: HttpHandler, req: IncomingMessage, res: ServerResponse): void {
  const method = req.method ?? 'GET';
  const run = (body: Uint8Array): void => {
    const info: HttpRequestInfo = { header: (name) => headerOf(req, name), body };
    runHttpHandler(handler, method, pathOf(req.url ?? '/'), info, (r) => writeResponse(res, method, r));
  };
  if (!readsBody(method)) {
    req.resume(); // discard a body so keep-alive keeps working
    run(EMPTY_BODY);
    return;
  }
  const tooLarge = (): void => {
    req.removeAllListeners('data');
    req.resume();
    writeResponse(res, method, PAYLOAD_TOO_LARGE, true);
  };
  if (declaresTooLarge(headerOf(req, 'content-length'))) return tooLarge();
  const body = new BodyCollector();
  let over = false;
  req.on('data', (chunk: Buffer) => {
    if (over || body.push(chunk)) return;
    over = true;
    tooLarge();
  });
  req.once('end', () => {
    if (!over) run(body.body());
  });
  req.once('error', () => res.destroy());
}

export function createWsTransport(opts: TransportOptions, tuning: WsTransportTuning = {}): TransportServer {
  const pingIntervalMs = tuning.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS;
  // A net.Socket emits 'drain' only after a write returned false, i.e. once its buffer passed its
  // own high-water mark. Keep that mark at or below ours so every 'backpressure' gets a 'drain'.
  const socketHighWater = Math.max(1, Math.min(getDefaultHighWaterMark(false), opts.highWaterBytes));
  const server = http.createServer({ highWaterMark: socketHighWater });
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: opts.maxPayloadBytes,
    perMessageDeflate: false,
    clientTracking: false, // we track WsConnections ourselves
    // Only reached when the client offered protocols; the upgrade handler already refused the
    // request if none of them is ours. Returning a name makes ws echo it in the 101 response.
    handleProtocols: (offered) => negotiateSubprotocol([...offered]) ?? false,
  });
  const live = new Set<WsConnection>();
  // Keepalive pings spread over the period (one burst for every connection would stall the loop).
  const keepalive = new KeepaliveWheel<WsConnection>(pingIntervalMs);
  let accepting = true;
  let started = false;
  let serverClosed = false;
  let closing: Promise<void> | undefined;
  let onAllClosed: (() => void) | undefined;
  server.on('close', () => {
    serverClosed = true;
  });

  async function shutdown(): Promise<void> {
    accepting = false;
    keepalive.stop();
    const wasListening = server.listening;
    if (wasListening) server.close();
    const waits: Promise<void>[] = [];
    if (live.size > 0) waits.push(new Promise((resolve) => (onAllClosed = resolve)));
    if ((wasListening || started) && !serverClosed) {
      waits.push(new Promise((resolve) => server.once('close', () => resolve())));
    }
    for (const conn of live) conn.terminate();
    server.closeAllConnections(); // HTTP sockets, idle or mid-request
    await Promise.all(waits);
  }

  function open(ws: WebSocket, req: IncomingMessage, socket: Duplex, subprotocol: Subprotocol, grant: ConnectionGrant | undefined): void {
    const conn = new WsConnection(ws, subprotocol, remoteOf(req), opts.highWaterBytes, socket, grant);
    live.add(conn);
    keepalive.add(conn);
    ws.on('error', (err) => conn.noteError(err));
    ws.on('pong', () => {
      conn.alive = true;
    });
    ws.on('close', (code, reason) => {
      live.delete(conn);
      keepalive.delete(conn);
      conn.deliverClose(code, reason);
      if (live.size === 0) onAllClosed?.();
    });
    // `socket` is the same net.Socket ws writes to (ws keeps it in its private `_socket`).
    socket.on('drain', () => conn.socketDrained());
    let listener: ConnectionListener;
    try {
      listener = opts.handler.onOpen(conn);
    } catch (err) {
      ws.terminate();
      throw err;
    }
    conn.listener = listener;
    ws.on('message', (data, isBinary) => listener.onMessage(toBytes(data), isBinary));
  }

  server.on('request', (req, res) => serveHttp(opts.http, req, res));
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (pathOf(req.url ?? '/') !== opts.wsPath) return refuseUpgrade(socket, 404);
    if (!accepting) return refuseUpgrade(socket, 503);
    let grant: ConnectionGrant | undefined;
    if (opts.admit !== undefined) {
      const url = req.url ?? '';
      const q = url.indexOf('?');
      const verdict = opts.admit({ header: (name) => headerOf(req, name), query: q === -1 ? '' : url.slice(q + 1) });
      if (!verdict.ok) return refuseUpgrade(socket, verdict.response.status, verdict.response);
      grant = verdict.grant;
    }
    const subprotocol = negotiateSubprotocol(parseProtocolHeader(req.headers['sec-websocket-protocol']));
    if (subprotocol === undefined) return refuseUpgrade(socket, 400);
    wss.handleUpgrade(req, socket, head, (ws) => open(ws, req, socket, subprotocol, grant));
  });

  return {
    kind: 'ws',

    listen(): Promise<number> {
      return new Promise((resolve, reject) => {
        const onError = (err: Error): void => reject(err);
        server.once('error', onError);
        server.listen(opts.port, opts.host, () => {
          server.off('error', onError);
          const addr = server.address();
          if (addr === null || typeof addr === 'string') {
            reject(new Error(`unexpected listen address ${String(addr)}`));
            return;
          }
          started = true;
          keepalive.start();
          resolve(addr.port);
        });
      });
    },

    async stopAccepting(): Promise<void> {
      accepting = false;
      // Closes the listening socket (and idle keep-alive HTTP sockets); upgraded sockets stay.
      if (server.listening) server.close();
    },

    close(): Promise<void> {
      closing ??= shutdown();
      return closing;
    },
  };
}

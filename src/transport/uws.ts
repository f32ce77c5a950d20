// WebSocket transport on uWebSockets.js: backpressure straight from uWS send()/getBufferedAmount()
// and its drain event; plain HTTP routes through app.any('/*').
import { STATUS_CODES } from 'node:http';
import uWS from 'uWebSockets.js';
import type {
  HttpRequest as UwsHttpRequest,
  HttpResponse as UwsHttpResponse,
  TemplatedApp,
  WebSocket as UwsWebSocket,
  us_listen_socket,
} from 'uWebSockets.js';
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
  HttpRequestInfo,
  HttpResponse,
  SendResult,
  TransportOptions,
  TransportServer,
} from './types.ts';
import { assertSendableCloseCode, clampCloseReason, nextConnectionId, parseProtocolHeader } from './wire-rules.ts';

/** The native addon has App#close() (closes the listen and every open socket); the fork's
 *  .d.ts predates it, so it is optional here and called only when present. */
interface ClosableApp extends TemplatedApp {
  close?(): void;
}

interface UwsUserData {
  subprotocol: Subprotocol;
  conn: UwsConnection | undefined;
  grant: ConnectionGrant | undefined;
}

/** uWS WebSocket.send() results (0 = sent with bytes left buffered). */
const SEND_SUCCESS = 1;
const SEND_DROPPED = 2;

/** Seconds without traffic before uWS closes; it pings at about half of this by itself. */
const IDLE_TIMEOUT_S = 60;
/** uWS's own per-socket send buffer cap: above it send() silently drops (result 2). Far above any
 *  sane highWaterBytes, because the session's bounded outbox is what limits memory. */
const MAX_BACKPRESSURE_BYTES = 64 * 1024 * 1024;

/** uWS enforces maxPayloadLength on the frame header by dropping the TCP connection (the client
 *  sees 1006, not 1009). We let it accept up to twice our cap and close oversized messages
 *  ourselves with 1009; only messages past that fall back to uWS's abrupt close. */
function uwsPayloadLimit(maxPayloadBytes: number): number {
  return Math.min(2 * maxPayloadBytes + 1024, 0xffff_ffff);
}

/** uWS reports its own protocol-error closes as 1006 plus a text; give onClose the real code. */
function closeCodeForUws(code: number, reason: string): number {
  if (code !== 1006) return code;
  if (reason === 'Received too big message') return 1009;
  if (reason === 'Received invalid UTF-8') return 1007;
  return code;
}

const utf8 = new TextDecoder();

class UwsConnection implements Connection {
  readonly id = nextConnectionId();
  listener: ConnectionListener | undefined;
  /** uWS has fired close: the native object is freed and must never be touched again. */
  closed = false;
  private wantDrain = false;
  /** Inside our own end()/close() call, from which uWS runs the close handler synchronously. */
  private inNativeClose = false;
  private readonly binary: boolean;

  constructor(
    private readonly ws: UwsWebSocket<UwsUserData>,
    readonly subprotocol: Subprotocol,
    readonly remote: string,
    private readonly highWaterBytes: number,
    readonly grant?: ConnectionGrant,
  ) {
    this.binary = subprotocol === 'vlp.v1.msgpack';
  }

  send(frame: Uint8Array | string): SendResult {
    if (this.closed) return 'dropped';
    // uWS writes to the socket now or copies into its own buffer: no reference to `frame` is kept.
    const status = this.ws.send(frame, this.binary);
    if (status === SEND_SUCCESS) return 'ok'; // all written: nothing buffered
    if (status === SEND_DROPPED) return 'dropped';
    // Status 0 means "some bytes are buffered", which is not yet over our high-water mark.
    if (this.ws.getBufferedAmount() > this.highWaterBytes) {
      this.wantDrain = true;
      return 'backpressure';
    }
    return 'ok';
  }

  bufferedBytes(): number {
    return this.closed ? 0 : this.ws.getBufferedAmount();
  }

  close(code: number, reason: string): void {
    assertSendableCloseCode(code);
    if (this.closed) return;
    this.inNativeClose = true;
    try {
      this.ws.end(code, clampCloseReason(reason));
    } finally {
      this.inNativeClose = false;
    }
  }

  terminate(): void {
    if (this.closed) return;
    this.inNativeClose = true;
    try {
      this.ws.close();
    } finally {
      this.inNativeClose = false;
    }
  }

  /** uWS drain: fired on every writable event while its buffer shrinks. */
  drained(): void {
    if (!this.wantDrain || this.closed) return;
    if (this.ws.getBufferedAmount() > this.highWaterBytes / 2) return;
    this.wantDrain = false;
    this.listener?.onDrain();
  }

  message(data: ArrayBuffer, isBinary: boolean, maxPayloadBytes: number): void {
    if (this.closed) return;
    if (data.byteLength > maxPayloadBytes) {
      this.close(1009, 'message too big');
      return;
    }
    // A view, not a copy: the listener contract says data is valid only during the call.
    this.listener?.onMessage(new Uint8Array(data), isBinary);
  }

  /** uWS close handler: `reasonBytes` is valid only now, so it is decoded before anything else. */
  nativeClosed(code: number, reasonBytes: ArrayBuffer): void {
    this.closed = true;
    const reason = utf8.decode(reasonBytes);
    const reported = closeCodeForUws(code, reason);
    // Do not re-enter the listener from inside its own close()/terminate() call (or from inside
    // onOpen, before it has even been returned): deliver once the caller's stack has unwound.
    if (this.inNativeClose || this.listener === undefined) {
      queueMicrotask(() => this.listener?.onClose(reported, reason));
    } else {
      this.listener.onClose(reported, reason);
    }
  }
}

function writeHttpResponse(res: UwsHttpResponse, method: string, r: HttpResponse): void {
  res.writeStatus(`${r.status} ${STATUS_CODES[r.status] ?? ''}`);
  for (const [k, v] of Object.entries(r.headers)) if (!isFramingHeader(k)) res.writeHeader(k, v);
  if (method === 'HEAD') {
    // res.end(body) would put the body on the wire even for HEAD; uWS adds Content-Length itself.
    res.endWithoutBody(typeof r.body === 'string' ? Buffer.byteLength(r.body, 'utf8') : r.body.byteLength);
  } else {
    res.end(r.body);
  }
}

function refuse(res: UwsHttpResponse, status: number): void {
  const text = STATUS_CODES[status] ?? 'Error';
  res.writeStatus(`${status} ${text}`).writeHeader('content-type', 'text/plain').end(text, true);
}

/** Answer with `r` and close the connection (a refused upgrade, an oversized body). */
function refuseWith(res: UwsHttpResponse, r: HttpResponse): void {
  res.writeStatus(`${r.status} ${STATUS_CODES[r.status] ?? ''}`);
  for (const [k, v] of Object.entries(r.headers)) if (!isFramingHeader(k)) res.writeHeader(k, v);
  res.end(r.body, true);
}

/** uWS reports an absent header as ''. */
function headerOrUndefined(value: string): string | undefined {
  return value === '' ? undefined : value;
}

/** Every header of a request (the first of repeated ones, as getHeader gives): `req` dies when
 *  the route callback returns, and an async handler reads headers later. */
function copyHeaders(req: UwsHttpRequest): Map<string, string> {
  const headers = new Map<string, string>();
  req.forEach((k, v) => {
    if (!headers.has(k)) headers.set(k, v);
  });
  return headers;
}

export function createUwsTransport(opts: TransportOptions): TransportServer {
  const app: ClosableApp = uWS.App();
  const live = new Set<UwsConnection>();
  let accepting = true;
  let listenSocket: us_listen_socket | undefined;

  app.ws<UwsUserData>(opts.wsPath, {
    compression: uWS.DISABLED,
    maxPayloadLength: uwsPayloadLimit(opts.maxPayloadBytes),
    maxBackpressure: MAX_BACKPRESSURE_BYTES,
    idleTimeout: IDLE_TIMEOUT_S,
    sendPingsAutomatically: true,

    upgrade: (res, req, context) => {
      // `req` is stack-allocated and dies when this callback returns: read every header first.
      const key = req.getHeader('sec-websocket-key');
      const protocolHeader = req.getHeader('sec-websocket-protocol');
      const extensions = req.getHeader('sec-websocket-extensions');
      if (!accepting) return refuse(res, 503);
      let grant: ConnectionGrant | undefined;
      if (opts.admit !== undefined) {
        // Synchronous: the gate reads `req` before this callback returns.
        const verdict = opts.admit({ header: (name) => headerOrUndefined(req.getHeader(name)), query: req.getQuery() ?? '' });
        if (!verdict.ok) return refuseWith(res, verdict.response);
        grant = verdict.grant;
      }
      const offered = parseProtocolHeader(protocolHeader);
      const subprotocol = negotiateSubprotocol(offered);
      if (subprotocol === undefined) return refuse(res, 400);
      // Echo a protocol only if the client offered some; with compression disabled uWS
      // negotiates no extension whatever the client asked for.
      const data: UwsUserData = { subprotocol, conn: undefined, grant };
      res.upgrade(data, key, offered.length > 0 ? subprotocol : '', extensions, context);
    },

    open: (ws) => {
      const data = ws.getUserData();
      // This fork has no getRemotePort(): the remote is the IP alone.
      const conn = new UwsConnection(ws, data.subprotocol, utf8.decode(ws.getRemoteAddressAsText()), opts.highWaterBytes, data.grant);
      data.conn = conn;
      live.add(conn);
      try {
        conn.listener = opts.handler.onOpen(conn);
      } catch (err) {
        conn.terminate();
        throw err;
      }
    },

    message: (ws, message, isBinary) => {
      ws.getUserData().conn?.message(message, isBinary, opts.maxPayloadBytes);
    },

    drain: (ws) => {
      ws.getUserData().conn?.drained();
    },

    close: (ws, code, message) => {
      const conn = ws.getUserData().conn;
      if (conn === undefined) return;
      live.delete(conn);
      conn.nativeClosed(code, message);
    },
  });

  app.any('/*', (res, req) => {
    const method = req.getCaseSensitiveMethod();
    const path = req.getUrl(); // without the query string
    // An upgrade on any other path than wsPath lands here: refuse it like the ws adapter does.
    if (req.getHeader('upgrade') !== '') return refuse(res, 404);
    const headers = copyHeaders(req);
    let done = false;
    let sync = true;
    res.onAborted(() => {
      done = true;
    });
    const run = (body: Uint8Array): void => {
      const info: HttpRequestInfo = { header: (name) => headerOrUndefined(headers.get(name) ?? ''), body };
      runHttpHandler(opts.http, method, path, info, (r) => {
        if (done) return;
        done = true;
        // Inside the route callback uWS is already corked; after an await or onData it is not.
        if (sync) writeHttpResponse(res, method, r);
        else res.cork(() => writeHttpResponse(res, method, r));
      });
    };
    if (!readsBody(method)) {
      run(EMPTY_BODY);
      sync = false;
      return;
    }
    const tooLarge = (): void => {
      if (done) return;
      done = true;
      if (sync) refuseWith(res, PAYLOAD_TOO_LARGE);
      else res.cork(() => refuseWith(res, PAYLOAD_TOO_LARGE));
    };
    if (declaresTooLarge(headers.get('content-length'))) {
      tooLarge();
      return;
    }
    sync = false;
    // onData runs even for a request without a body (one empty, last chunk).
    const body = new BodyCollector();
    res.onData((chunk, isLast) => {
      if (done) return;
      // The chunk is valid only during this call: copy it.
      if (!body.push(new Uint8Array(chunk.slice(0)))) return tooLarge();
      if (isLast) run(body.body());
    });
  });

  let closing: Promise<void> | undefined;

  async function shutdown(): Promise<void> {
    stopListening();
    for (const conn of [...live]) conn.terminate();
    app.close?.(); // idle keep-alive HTTP sockets and anything still open
    // onClose for terminated connections is delivered in a microtask; let it run first.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  function stopListening(): void {
    accepting = false;
    if (listenSocket !== undefined) {
      uWS.us_listen_socket_close(listenSocket);
      listenSocket = undefined;
    }
  }

  return {
    kind: 'uws',

    listen(): Promise<number> {
      return new Promise((resolve, reject) => {
        // Note: uWS binds with SO_REUSEPORT unless told otherwise, and the host+port overload
        // takes no options, so a port already used by another uWS process does not fail here.
        app.listen(opts.host, opts.port, (ls) => {
          if (ls === false) {
            reject(new Error(`uWS could not listen on ${opts.host}:${opts.port}`));
            return;
          }
          listenSocket = ls;
          resolve(uWS.us_socket_local_port(ls));
        });
      });
    },

    async stopAccepting(): Promise<void> {
      stopListening();
    },

    close(): Promise<void> {
      closing ??= shutdown();
      return closing;
    },
  };
}

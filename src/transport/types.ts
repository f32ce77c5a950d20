// The one transport interface: a WebSocket server (ws or uWebSockets.js) that reports backpressure
// on every send, plus the few plain-HTTP routes the gateway serves (/healthz, /readyz, /metrics).
import type { Subprotocol } from '../../protocol/messages.ts';

/** Outcome of a send: 'ok' = written or queued under the high-water mark; 'backpressure' = queued,
 *  but the socket's buffer is over the high-water mark (wait for onDrain before sending more
 *  droppable frames); 'dropped' = not sent (connection closing/closed). */
export type SendResult = 'ok' | 'backpressure' | 'dropped';

/** What an admitted upgrade's credential grants its connection (UpgradeGate's verdict). */
export interface ConnectionGrant {
  /** Longest session the connection may open, ms (a client token's claim). */
  maxSessionMs?: number;
}

export interface Connection {
  /** Process-unique connection number (for logs and maps). */
  readonly id: number;
  /** From the upgrade gate's verdict (TransportOptions.admit); absent = nothing beyond the config. */
  readonly grant?: ConnectionGrant;
  /** Negotiated subprotocol: decides binary msgpack vs text JSON frames. */
  readonly subprotocol: Subprotocol;
  /** Remote address (ip:port) for logs. */
  readonly remote: string;
  /** Send one frame: binary for vlp.v1.msgpack, text (string) for vlp.v1.json. The transport must
   *  not keep a reference to `frame` after returning (callers reuse the buffer). */
  send(frame: Uint8Array | string): SendResult;
  /** Bytes accepted by send() but not yet written to the socket. */
  bufferedBytes(): number;
  /** Close with a WebSocket close code and a short reason (<= 123 bytes UTF-8). Idempotent. */
  close(code: number, reason: string): void;
  /** Drop the TCP connection without a close handshake. Idempotent. */
  terminate(): void;
}

/** Per-connection callbacks, returned by ConnectionHandler.onOpen. */
export interface ConnectionListener {
  /** One complete WebSocket message. `data` is only valid during the call (uWS reuses it):
   *  copy what must outlive it. `isBinary` is false for text frames (delivered as UTF-8 bytes). */
  onMessage(data: Uint8Array, isBinary: boolean): void;
  /** The socket's buffer fell below the low-water mark after a 'backpressure' send. */
  onDrain(): void;
  /** Connection closed (by either side). Called exactly once. */
  onClose(code: number, reason: string): void;
}

export interface ConnectionHandler {
  onOpen(conn: Connection): ConnectionListener;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string | Uint8Array;
}

/** What a plain HTTP handler may read of its request besides method and path. */
export interface HttpRequestInfo {
  /** A request header by lower-case name; undefined when absent (or empty). */
  header(name: string): string | undefined;
  /** The body: empty for GET and HEAD, at most MAX_HTTP_BODY_BYTES (larger ones get 413 first). */
  body: Uint8Array;
}

/** Plain HTTP routes (non-upgrade requests). Returning undefined means 404. */
export type HttpHandler = (
  method: string,
  path: string,
  req: HttpRequestInfo,
) => Promise<HttpResponse | undefined> | HttpResponse | undefined;

/** What an upgrade gate may read of a WebSocket upgrade request. Only valid during the call. */
export interface UpgradeRequestInfo {
  /** A request header by lower-case name; undefined when absent (or empty). */
  header(name: string): string | undefined;
  /** The query string without its "?" ('' when there is none). */
  query: string;
}

/** Decides, synchronously and before the handshake completes, whether an upgrade on wsPath may
 *  proceed: undefined = yes; a response = refuse with it (no upgrade, connection closed). */
export type UpgradeVerdict = { ok: true; grant: ConnectionGrant } | { ok: false; response: HttpResponse };

/** Admits or refuses an upgrade; an admitted one carries what its credential grants. */
export type UpgradeGate = (req: UpgradeRequestInfo) => UpgradeVerdict;

export interface TransportOptions {
  host: string;
  /** 0 = pick a free port. */
  port: number;
  /** URL path that accepts WebSocket upgrades (e.g. "/v1/ws"). */
  wsPath: string;
  /** Hard cap on an incoming message, bytes. The library closes with 1009 above it. */
  maxPayloadBytes: number;
  /** Send-buffer high-water mark, bytes: above it send() returns 'backpressure'. */
  highWaterBytes: number;
  handler: ConnectionHandler;
  http: HttpHandler;
  /** Runs on every upgrade of wsPath once the server is known to be accepting, before the
   *  subprotocol is negotiated; absent = every upgrade may proceed. */
  admit?: UpgradeGate;
}

export interface TransportServer {
  readonly kind: 'ws' | 'uws';
  /** Start listening; resolves with the bound port. */
  listen(): Promise<number>;
  /** Stop accepting new connections (existing ones stay open). */
  stopAccepting(): Promise<void>;
  /** Stop accepting and terminate every remaining connection. */
  close(): Promise<void>;
}

/** Pick the subprotocol: the first offered one we speak; msgpack when none is offered;
 *  undefined when protocols were offered but none is ours (the handshake is then refused). */
export function negotiateSubprotocol(offered: readonly string[]): Subprotocol | undefined {
  if (offered.length === 0) return 'vlp.v1.msgpack';
  for (const p of offered) {
    const v = p.trim();
    if (v === 'vlp.v1.msgpack' || v === 'vlp.v1.json') return v;
  }
  return undefined;
}

// Typed Node SDK for the vlp.v1 gateway over `ws`: connect() opens the socket, sends hello and
// resolves on ready; resume() continues a detached session. The client itself lives in client.ts,
// voice input in audio.ts (framing, pacing) and audio-file.ts (WAV files, ffmpeg decoding).
import WebSocket from 'ws';
import { createClientCodec } from '../../protocol/codec.ts';
import type { ProtocolLimits } from '../../protocol/limits.ts';
import { SUBPROTOCOL_MSGPACK, type HelloMsg, type SessionOptions, type Subprotocol } from '../../protocol/messages.ts';
import { VlpClient, type ResumeState } from './client.ts';
import { VlpClientError } from './errors.ts';
import { DEFAULT_MAX_BACKLOG } from './queue.ts';
import { SeqTracker } from './seq.ts';
import { DEFAULT_HIGH_WATER_BYTES, decodeFrame } from './wire.ts';
import { authorizationHeader, displayUrl, handshakeError } from './handshake.ts';

export { VlpClient, type AskOptions, type ResumeState, type VoiceTurn, type WatchOptions } from './client.ts';
export {
  parseAudioFormat,
  bytesPerMs,
  PCM_RATES,
  type AudioClock,
  type AudioFormat,
  type AudioPace,
  type AudioStartOptions,
  type StreamAudioOptions,
  type StreamAudioResult,
} from './audio.ts';
export { openAudioFile, openAudioStream, type AudioInput } from './audio-file.ts';
export { VlpClientError, type ClientErrorCode } from './errors.ts';
export { TurnHandle } from './turn.ts';
export type { SendResult } from './wire.ts';

export interface ConnectOptions {
  /** Default vlp.v1.msgpack. */
  subprotocol?: Subprotocol;
  /** Client name/version for the gateway's logs. */
  client?: string;
  options?: SessionOptions;
  /** Resume a detached session (resume() fills this in). */
  resume?: { session_id: string; token: string; last_seq: number };
  /** Time allowed for the handshake plus ready, ms. Default 10,000. */
  connectTimeoutMs?: number;
  /** Send an ack every `ackEvery` frames. Default true. */
  autoAck?: boolean;
  /** Default 64 frames. */
  ackEvery?: number;
  /** Unread frames an events() iterator or turn handle may hold before it throws. Default 10,000. */
  maxBacklog?: number;
  /** send() reports 'backpressure' above this many buffered bytes. Default 1 MiB. */
  highWaterBytes?: number;
  /** Decoder limits for server frames. */
  limits?: ProtocolLimits;
  /** API key of a gateway with client authentication, sent as `Authorization: Bearer` on the
   *  upgrade (also by resume()). For servers: never ship one to a browser. */
  apiKey?: string;
  /** A client token (POST /v1/client_tokens) instead of an API key, sent the same way. */
  token?: string;
}

/** Open a session: WebSocket with the subprotocol, hello, wait for ready. Rejects with a
 *  VlpClientError when an error frame, a close or the timeout comes first, or when the gateway
 *  refuses the handshake (CLIENT_UNAUTHORIZED on 401, CLIENT_FORBIDDEN on 403). */
export function connect(url: string, opts: ConnectOptions = {}): Promise<VlpClient> {
  return open(url, opts, 0);
}

/** Reconnect a detached session from a client (or its resumeState()) and continue its seq and
 *  turn numbering. Frames the server replays after ready reach the first events() iterator. */
export function resume(url: string, from: VlpClient | ResumeState, opts: Omit<ConnectOptions, 'resume'> = {}): Promise<VlpClient> {
  const state = from instanceof VlpClient ? from.resumeState() : from;
  const sub = opts.subprotocol ?? state.subprotocol;
  return open(
    url,
    {
      ...opts,
      ...(sub !== undefined && { subprotocol: sub }),
      resume: { session_id: state.sessionId, token: state.resumeToken, last_seq: state.lastSeq },
    },
    state.turnCounter,
  );
}

function open(url: string, opts: ConnectOptions, turnCounter: number): Promise<VlpClient> {
  const sub = opts.subprotocol ?? SUBPROTOCOL_MSGPACK;
  const codec = createClientCodec(sub, opts.limits);
  const timeoutMs = opts.connectTimeoutMs ?? 10_000;
  const seq = new SeqTracker(opts.resume?.last_seq ?? 0);
  const hello: HelloMsg = {
    t: 'hello',
    ...(opts.client !== undefined && { client: opts.client }),
    ...(opts.options !== undefined && { options: opts.options }),
    ...(opts.resume !== undefined && { resume: opts.resume }),
  };

  // Error messages name the gateway without the URL's query, which may hold a credential.
  const where = displayUrl(url);
  return new Promise<VlpClient>((resolve, reject) => {
    const auth = authorizationHeader(opts);
    if (typeof auth === 'object') {
      reject(auth);
      return;
    }
    let ws: WebSocket;
    try {
      ws = new WebSocket(url, [sub], {
        perMessageDeflate: false,
        handshakeTimeout: timeoutMs,
        ...(auth !== undefined && { headers: { authorization: auth } }),
      });
    } catch (err) {
      reject(new VlpClientError('CLIENT_CONNECT_FAILED', `cannot connect to ${where}: ${err instanceof Error ? err.message : 'invalid URL'}`, { retryable: false, cause: err }));
      return;
    }
    let client: VlpClient | undefined;
    let settled = false;
    const fail = (err: VlpClientError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (ws.readyState === WebSocket.OPEN) ws.close(1000);
      else ws.terminate();
      reject(err);
    };
    const timer = setTimeout(
      () => fail(new VlpClientError('CLIENT_TIMEOUT', `no ready from ${where} within ${timeoutMs} ms`, { retryable: true })),
      timeoutMs,
    );

    ws.on('open', () => {
      ws.send(codec.encode(hello));
    });
    // The handshake was answered with a plain HTTP status instead of 101 (401/403: credentials).
    ws.on('unexpected-response', (_req, res) => {
      res.resume();
      fail(handshakeError(where, res.statusCode ?? 0));
    });
    ws.on('message', (data, isBinary) => {
      if (client !== undefined) {
        client.onMessage(data, isBinary);
        return;
      }
      if (settled) return;
      const r = decodeFrame(codec, data, isBinary);
      if (!r.ok) return;
      const msg = r.msg;
      if (msg.t === 'error') {
        fail(new VlpClientError(msg.code, msg.message, { retryable: msg.retryable }));
      } else if (msg.t === 'ready') {
        // Asked to resume but got a fresh session: its numbering starts over.
        if (opts.resume !== undefined && !msg.resumed) seq.reset(0);
        seq.noteReady(msg.seq);
        settled = true;
        clearTimeout(timer);
        client = new VlpClient({
          ws,
          codec,
          ready: msg,
          seq,
          autoAck: opts.autoAck ?? true,
          ackEvery: opts.ackEvery ?? 64,
          maxBacklog: opts.maxBacklog ?? DEFAULT_MAX_BACKLOG,
          highWaterBytes: opts.highWaterBytes ?? DEFAULT_HIGH_WATER_BYTES,
          turnCounter: msg.resumed ? turnCounter : 0,
        });
        resolve(client);
      }
      // Other frames cannot precede ready; they are ignored.
    });
    ws.on('error', (err) => {
      if (client === undefined) {
        fail(new VlpClientError('CLIENT_CONNECT_FAILED', `cannot connect to ${where}: ${err.message}`, { retryable: true, cause: err }));
      }
      // After ready, 'close' always follows 'error' and the client reports it.
    });
    ws.on('close', (code, reason) => {
      if (client !== undefined) {
        client.onClose(code, reason.toString('utf8'));
        return;
      }
      const why = reason.length > 0 ? `${code} ${reason.toString('utf8')}` : String(code);
      fail(new VlpClientError('CLIENT_CLOSED', `connection closed before ready (${why})`, { retryable: true, closeCode: code }));
    });
  });
}

// One WebSocket connection: size and rate checks, decode-once into the ClientMessage union,
// and an exhaustive dispatch to its session. Errors before hello are connection-scoped (seq 0).
import type { ClientMessage, HelloMsg, ServerMessage, ErrorMsg } from '../../protocol/messages.ts';
import { ERRORS, VlpError, type ErrorCode } from '../../protocol/errors.ts';
import { createServerCodec, type ServerCodec } from '../../protocol/codec.ts';
import type { Connection, ConnectionGrant, ConnectionListener, SendResult } from '../transport/types.ts';
import type { OutboxSink } from './outbox.ts';
import type { Session } from './session.ts';
import { TokenBucket } from './ratelimit.ts';
import { tokensEqual } from './ids.ts';
import type { GatewayContext } from './context.ts';

/** Why the gateway does not start a session (or accept a connection that could start one). */
export interface Refusal {
  code: 'SERVER_AT_CAPACITY' | 'SERVER_SHUTTING_DOWN';
  message: string;
}

export type NewSession = { ok: true; session: Session } | ({ ok: false } & Refusal);

/** Non-fatal error replies outside a session: at most one per this many ms (as PROTO_RATE_LIMITED). */
const CONN_ERROR_INTERVAL_MS = 1000;

/** Lets an event through at most once per `intervalMs`; the ones in between are dropped. */
class Throttle {
  private last = Number.NEGATIVE_INFINITY;

  constructor(private readonly intervalMs: number) {}

  allow(now = performance.now()): boolean {
    if (now - this.last <= this.intervalMs) return false;
    this.last = now;
    return true;
  }
}

/** What a connection needs from the gateway's session table. */
export interface SessionTable {
  /** A new session (with what its connection's credential grants), or the refusal to send (at
   *  max_sessions, shutting down). */
  create(grant?: ConnectionGrant): NewSession;
  get(id: string): Session | undefined;
  /** The connection currently attached to a session, if any. */
  connectionOf(session: Session): ConnectionHandlerCtx | undefined;
  bind(session: Session, conn: ConnectionHandlerCtx | undefined): void;
  isDraining(): boolean;
  /** The session has reached its maximum duration (limits.maxSessionMs or its client token's
   *  claim): it cannot be resumed. */
  isExpired(session: Session): boolean;
  /** A connection has just got the session's ready (new or resumed). */
  attachedTo(session: Session): void;
}

export class ConnectionHandlerCtx implements ConnectionListener, OutboxSink {
  session: Session | undefined;
  private readonly codec: ServerCodec;
  private readonly bucket: TokenBucket;
  private readonly rateErrors = new Throttle(CONN_ERROR_INTERVAL_MS);
  /** Non-fatal error replies before hello (no outbox bounds them: see error()). */
  private readonly connErrors = new Throttle(CONN_ERROR_INTERVAL_MS);
  private closed = false;

  constructor(
    readonly conn: Connection,
    private readonly ctx: GatewayContext,
    private readonly table: SessionTable,
  ) {
    const l = ctx.config.limits;
    this.codec = createServerCodec(conn.subprotocol, {
      maxFrameBytes: l.maxFrameBytes,
      maxTextChars: l.maxTextChars,
      maxAudioChunkBytes: l.maxAudioChunkBytes,
      maxImageBytes: l.maxImageBytes,
      maxIdChars: 64,
      maxStopSequences: 4,
      maxStopChars: 64,
      maxSystemPromptChars: 8192,
      maxUrlChars: 2048,
    });
    this.bucket = new TokenBucket(l.maxMessagesPerSec);
  }

  /** OutboxSink: msgpack bytes of the last frame sent (undefined on vlp.v1.json). */
  lastMsgpack: Uint8Array | undefined;

  // OutboxSink: encode with this connection's codec and write one frame.
  send(msg: ServerMessage): SendResult {
    const frame = this.codec.encode(msg);
    this.lastMsgpack = typeof frame === 'string' ? undefined : frame;
    return this.conn.send(frame);
  }

  onMessage(data: Uint8Array, isBinary: boolean): void {
    if (this.closed) return;
    const arrivedAt = performance.now();
    const limits = this.ctx.config.limits;
    if (data.byteLength > limits.maxFrameBytes) {
      this.fail('PROTO_FRAME_TOO_LARGE', `frame of ${data.byteLength} bytes is over max_frame_bytes (${limits.maxFrameBytes})`);
      return;
    }
    if (!this.bucket.take()) {
      if (this.rateErrors.allow()) {
        this.error('PROTO_RATE_LIMITED', `more than ${limits.maxMessagesPerSec} messages per second; messages are being dropped`);
      }
      return;
    }
    const r = this.codec.decode(data, isBinary);
    if (!r.ok) {
      this.error(r.code, r.message, r.ref);
      return;
    }
    if (this.session) this.session.lastActivity = performance.now();
    try {
      this.dispatch(r.msg, arrivedAt);
    } catch (err) {
      if (err instanceof VlpError) this.error(err.code, err.message, r.msg.t);
      else {
        this.ctx.log.error({ conn: this.conn.id, type: r.msg.t, err }, 'dispatch failed');
        this.error('SERVER_INTERNAL', 'unexpected gateway fault; the session goes on', r.msg.t);
      }
    }
  }

  private dispatch(msg: ClientMessage, arrivedAt: number): void {
    if (msg.t === 'hello') {
      this.onHello(msg);
      return;
    }
    const s = this.session;
    if (!s) {
      this.error('SESSION_NOT_STARTED', 'send hello first', msg.t);
      return;
    }
    switch (msg.t) {
      case 'session.update':
        s.updateOptions(msg.options);
        return;
      case 'turn.start':
        s.startTurn(msg);
        return;
      case 'turn.cancel':
        if (!s.cancelTurn(msg.id, 'client')) {
          s.sendError('TURN_NOT_FOUND', 'no running turn with that id', { ref: msg.t, ...(msg.id !== undefined ? { turn: msg.id } : {}) });
        }
        return;
      case 'ack':
        s.outbox.replay.ack(msg.seq);
        return;
      case 'playback.truncate':
        s.truncatePlayback(msg);
        return;
      case 'watch.start':
        s.startWatch(msg);
        return;
      case 'watch.stop':
        s.stopWatch(msg);
        return;
      case 'ping':
        s.send({ t: 'pong', ts: msg.ts });
        return;
      case 'image.put':
        s.putImage(msg);
        return;
      case 'audio.start':
        s.startAudio(msg);
        return;
      case 'audio.chunk':
        s.audioChunk(msg.data, arrivedAt);
        return;
      case 'audio.end':
        s.endAudio();
        return;
      default: {
        const never: never = msg;
        throw new Error(`unhandled message ${(never as ClientMessage).t}`);
      }
    }
  }

  private onHello(msg: HelloMsg): void {
    if (this.session) {
      this.error('SESSION_ALREADY_STARTED', 'this connection already has a session', 'hello');
      return;
    }
    if (msg.resume) {
      this.onResume(msg.resume);
      return;
    }
    const created = this.table.create(this.conn.grant);
    if (!created.ok) {
      this.fail(created.code, created.message);
      return;
    }
    const s = created.session;
    if (msg.options) {
      try {
        s.updateOptions(msg.options);
      } catch (err) {
        s.close('disconnect');
        throw err;
      }
    }
    this.attachSession(s, false);
    this.ctx.log.info({ conn: this.conn.id, session: s.id, transport: this.conn.subprotocol }, 'session started');
  }

  private onResume(r: NonNullable<HelloMsg['resume']>): void {
    const s = this.table.get(r.session_id);
    if (!s || s.state === 'closed' || !tokensEqual(s.resumeToken, r.token)) {
      this.fail('SESSION_RESUME_FAILED', 'no resumable session with that id and token');
      return;
    }
    if (this.table.isExpired(s)) {
      this.fail('SESSION_RESUME_FAILED', 'the session reached its maximum duration; start a new session');
      return;
    }
    // Detach the connection still holding the session first: its queued frames then get their seq
    // and enter the replay buffer, so the replay below includes them (else they would be lost).
    const previous = this.table.connectionOf(s);
    if (previous && previous !== this) previous.replaced();
    const frames = s.outbox.replaySince(r.last_seq);
    if (!frames) {
      this.fail('SESSION_RESUME_FAILED', `frames after seq ${r.last_seq} are no longer buffered`);
      return;
    }
    this.attachSession(s, true);
    s.outbox.resend(frames);
    this.ctx.log.info({ conn: this.conn.id, session: s.id, replayed: frames.length }, 'session resumed');
  }

  /** Makes `s` this connection's session and sends it the ready frame (new or resumed). */
  private attachSession(s: Session, resumed: boolean): void {
    this.session = s;
    this.table.bind(s, this);
    s.attach(this);
    const l = this.ctx.config.limits;
    s.outbox.pushNow({
      t: 'ready',
      session_id: s.id,
      resume_token: s.resumeToken,
      resumed,
      protocol: 1,
      models: this.ctx.models.list(),
      limits: {
        max_frame_bytes: l.maxFrameBytes,
        max_text_chars: l.maxTextChars,
        max_audio_chunk_bytes: l.maxAudioChunkBytes,
        max_image_bytes: l.maxImageBytes,
        resume_window_ms: l.resumeWindowMs,
        replay_frames: l.replayFrames,
      },
      ...(Number.isFinite(s.expiresAt) && { expires_in_ms: Math.max(0, Math.round(s.expiresAt - performance.now())) }),
    });
    this.table.attachedTo(s);
  }

  /** Another connection resumed this session: detach without ending the session. */
  replaced(): void {
    const s = this.session;
    this.session = undefined;
    if (s) s.detach();
    this.closed = true;
    this.conn.close(4009, 'SESSION_REPLACED');
  }

  onDrain(): void {
    this.session?.outbox.onDrain();
  }

  onClose(_code: number, _reason: string): void {
    this.closed = true;
    const s = this.session;
    this.session = undefined;
    if (!s) return;
    if (this.table.connectionOf(s) === this) this.table.bind(s, undefined);
    if (s.state !== 'active') return;
    if (this.ctx.config.limits.resumeWindowMs > 0 && !this.table.isDraining()) s.detach();
    else s.close('disconnect');
  }

  /** Non-fatal error: on the session when there is one, else a connection-scoped frame (seq 0).
   *  Without a session no outbox bounds what is written, so a connection-scoped error is sent at
   *  most once per second (the others are dropped), and a connection whose socket buffer is over
   *  the high-water mark (the client does not read) is closed as a slow consumer. */
  error(code: ErrorCode, message: string, ref?: string): void {
    const s = this.session;
    if (s) {
      s.sendError(code, message, ref !== undefined ? { ref } : {});
      return;
    }
    if (this.overHighWater()) return;
    if (!this.connErrors.allow()) return;
    this.ctx.metrics.errorsTotal.inc({ code });
    this.sendConnectionError(code, message, ref);
    this.overHighWater();
  }

  /** Before hello: closes the connection with SESSION_SLOW_CONSUMER when the client leaves more
   *  than limits.highWaterBytes unread in its socket buffer; true when it did. */
  private overHighWater(): boolean {
    const limit = this.ctx.config.limits.highWaterBytes;
    const buffered = this.conn.bufferedBytes();
    if (buffered <= limit) return false;
    this.ctx.log.warn({ conn: this.conn.id, buffered }, 'slow consumer before hello: closing connection');
    this.fail('SESSION_SLOW_CONSUMER', `the client does not read: over ${limit} bytes unread before hello`);
    return true;
  }

  /** Fatal error: send the frame, then close with the code's close code. Once the connection is
   *  closing this does nothing (one fatal error per connection). With a session the frame is
   *  written at once, ahead of frames waiting behind backpressure (the transport buffers it),
   *  and is not kept for replay. */
  fail(code: ErrorCode, message: string): void {
    if (this.closed) return;
    const spec = ERRORS[code];
    const close = 'close' in spec ? spec.close : 1011;
    const s = this.session;
    if (s) s.sendFatal(code, message, this);
    else {
      this.ctx.metrics.errorsTotal.inc({ code });
      this.sendConnectionError(code, message, undefined);
    }
    this.closed = true;
    this.conn.close(close, code);
  }

  private sendConnectionError(code: ErrorCode, message: string, ref: string | undefined): void {
    const spec = ERRORS[code];
    const frame: ErrorMsg = { t: 'error', seq: 0, code, message, retryable: spec.retryable, fatal: 'close' in spec };
    if (ref !== undefined) frame.ref = ref;
    this.conn.send(this.codec.encode(frame));
  }
}

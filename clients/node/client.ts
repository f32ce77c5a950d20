// A connected vlp.v1 session on the client side: routes decoded server frames to turn handles
// (turns it asked for, and turns the server started: voice turns from speech, a watch's turns;
// turn-router.ts), events() and voiceTurns() iterators (subscriptions.ts) and pending pings
// (pings.ts); tracks seq (gaps, auto-ack); sends client messages, audio and watches included.
import WebSocket from 'ws';
import type { ClientCodec } from '../../protocol/codec.ts';
import type { DecodeResult } from '../../protocol/validate.ts';
import type { AudioFormat, ClientMessage, ErrorMsg, GenParams, ReadyMsg, ServerMessage, Subprotocol, WatchStartMsg } from '../../protocol/messages.ts';
import { pumpAudio, type AudioSink, type AudioStartOptions, type StreamAudioOptions, type StreamAudioResult } from './audio.ts';
import { VlpClientError } from './errors.ts';
import { PendingPings } from './pings.ts';
import type { SeqTracker } from './seq.ts';
import { Subscriptions } from './subscriptions.ts';
import type { TurnHandle } from './turn.ts';
import { TurnRouter } from './turn-router.ts';
import { voiceTurnIterator, type VoiceTurn } from './voice-turns.ts';
import { decodeFrame, sendFrame, type SendResult } from './wire.ts';

export type { VoiceTurn } from './voice-turns.ts';

/** What resume() needs to continue a session on a new connection. */
export interface ResumeState {
  sessionId: string;
  resumeToken: string;
  /** Highest server seq already received. */
  lastSeq: number;
  /** Turn ids generated so far (the next generated id is t{turnCounter + 1}). */
  turnCounter: number;
  subprotocol?: Subprotocol;
}

export interface AskOptions {
  /** Turn id; generated as t1, t2, ... when omitted. */
  id?: string;
  model?: string;
  params?: GenParams;
  /** Image id sent earlier with putImage(). */
  image?: string;
}

/** watch.start's fields (SPEC watch.start, section 9b): `id` and `labels`, and optionally
 *  interval_ms, box_threshold, enter_frames, leave_frames, ask and cooldown_ms. */
export type WatchOptions = Omit<WatchStartMsg, 't'>;

export interface ClientInit {
  ws: WebSocket;
  codec: ClientCodec;
  ready: ReadyMsg;
  seq: SeqTracker;
  autoAck: boolean;
  /** Frames between automatic acks. */
  ackEvery: number;
  /** Per-iterator bound, frames. */
  maxBacklog: number;
  highWaterBytes: number;
  turnCounter: number;
}

export class VlpClient {
  readonly ready: ReadyMsg;
  readonly sessionId: string;
  readonly resumeToken: string;
  readonly subprotocol: Subprotocol;
  /** Resolves once the socket is closed (by either side). */
  readonly closed: Promise<{ code: number; reason: string }>;
  /** Server frames that failed to decode (ignored; e.g. a newer server's message types). */
  invalidFrames = 0;

  private readonly ws: WebSocket;
  private readonly codec: ClientCodec;
  private readonly seq: SeqTracker;
  private readonly opts: ClientInit;
  private readonly turns: TurnRouter;
  private readonly subs: Subscriptions;
  private readonly pings = new PendingPings();
  /** Internal observers of every delivered frame (streamAudio watches for audio.start errors). */
  private readonly frameListeners = new Set<(msg: ServerMessage) => void>();
  private sinceAck = 0;
  private fatal: ErrorMsg | undefined;
  private closeInfo: { code: number; reason: string } | undefined;
  private resolveClosed!: (v: { code: number; reason: string }) => void;

  constructor(init: ClientInit) {
    this.opts = init;
    this.ws = init.ws;
    this.codec = init.codec;
    this.seq = init.seq;
    this.ready = init.ready;
    this.sessionId = init.ready.session_id;
    this.resumeToken = init.ready.resume_token;
    this.subprotocol = init.codec.subprotocol;
    this.turns = new TurnRouter(init.maxBacklog, init.turnCounter, (tid) => this.cancel(tid));
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    this.subs = new Subscriptions(init.maxBacklog);
  }

  /** Highest server seq received in order (what ack and hello.resume carry). */
  get lastSeq(): number {
    return this.seq.lastSeq;
  }

  /** Times the server's seq skipped numbers (frames lost). */
  get gaps(): number {
    return this.seq.gaps;
  }

  get isOpen(): boolean {
    return this.closeInfo === undefined && this.ws.readyState === WebSocket.OPEN;
  }

  /** Bytes queued in the socket but not yet written. */
  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  /** State for resume() on a new connection. */
  resumeState(): ResumeState {
    return {
      sessionId: this.sessionId,
      resumeToken: this.resumeToken,
      lastSeq: this.lastSeq,
      turnCounter: this.turns.turnCounter,
      subprotocol: this.subprotocol,
    };
  }

  /** Send any client message now. */
  send(msg: ClientMessage): SendResult {
    return sendFrame(this.ws, this.codec, msg, this.opts.highWaterBytes);
  }

  /** Resolves when the send buffer is back under half the high-water mark (or the socket closed). */
  async drain(): Promise<void> {
    while (this.isOpen && this.ws.bufferedAmount > this.opts.highWaterBytes / 2) {
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Upload an image for later turns (ask(..., { image: id })). */
  putImage(id: string, bytes: Uint8Array): SendResult {
    return this.send({ t: 'image.put', id, data: bytes });
  }

  /** Start a turn; the handle streams its frames. */
  ask(text: string, opts: AskOptions = {}): TurnHandle {
    const handle = this.turns.asked(opts.id);
    if (!this.isOpen) {
      handle.fail(this.closedError(handle.id));
      return handle;
    }
    this.turns.track(handle);
    this.send({
      t: 'turn.start',
      id: handle.id,
      text,
      ...(opts.image !== undefined && { image: opts.image }),
      ...(opts.model !== undefined && { model: opts.model }),
      ...(opts.params !== undefined && { params: opts.params }),
    });
    return handle;
  }

  /**
   * Follow a turn the server started: a voice turn, whose id arrives in asr.final.turn, or a watch's
   * turn, whose id arrives in watch.event.turn. Frames that arrived between that announcement and
   * this call are kept (at most maxBacklog frames over the last 16 unfollowed server-started turns;
   * past that the oldest turn's frames are dropped and its handle throws CLIENT_SLOW_CONSUMER). An
   * id not announced yet is followed from its first frame. Each id can be followed once
   * (TURN_ID_REUSED otherwise).
   */
  followTurn(id: string): TurnHandle {
    const { handle, settled } = this.turns.followed(id);
    if (settled) return handle;
    if (!this.isOpen) {
      handle.fail(this.closedError(id));
      return handle;
    }
    this.turns.track(handle);
    return handle;
  }

  /**
   * The voice turns the server starts from now on, one per final transcript, each with a handle
   * already following it (see followTurn()). Use one iterator at a time, created before the audio
   * starts; it ends when the connection closes. Bounded like events().
   */
  voiceTurns(): AsyncIterableIterator<VoiceTurn, undefined> {
    return voiceTurnIterator(this.subs.finals(), (id) => this.followTurn(id));
  }

  /** Open a voice stream (audio.start): raw audio.chunk bytes in `format` follow, then endAudio().
   *  A second startAudio() ends the previous stream as endAudio() would. */
  startAudio(format: AudioFormat, opts: AudioStartOptions = {}): SendResult {
    return this.send({
      t: 'audio.start',
      format,
      ...(opts.language !== undefined && { language: opts.language }),
      ...(opts.task !== undefined && { task: opts.task }),
    });
  }

  /** One audio.chunk, sent as is (about 20 ms of audio; at most ready.limits.max_audio_chunk_bytes).
   *  On 'backpressure', await drain() before sending more. */
  sendAudio(bytes: Uint8Array): SendResult {
    return this.send({ t: 'audio.chunk', data: bytes });
  }

  /** End the voice stream (audio.end): an utterance in progress is finalized. Idempotent. */
  endAudio(): SendResult {
    return this.send({ t: 'audio.end' });
  }

  /**
   * Send a whole audio stream: audio.start, the source re-chunked into `chunkMs` frames (pcm16, f32,
   * mulaw; Opus forms pass through) and paced by the audio clock at `pace`, then audio.end. Waits for
   * the socket to drain on backpressure. Resolves once everything was sent; rejects with a
   * VlpClientError when the connection closes, when the gateway refuses the audio.start
   * (AUDIO_FORMAT_UNSUPPORTED, AUDIO_ASR_UNAVAILABLE), or with signal.reason on abort. Transcripts
   * and the voice turns they start arrive meanwhile (events(), voiceTurns()).
   */
  async streamAudio(source: AsyncIterable<unknown>, opts: StreamAudioOptions): Promise<StreamAudioResult> {
    const refused = new AbortController();
    const watch = (msg: ServerMessage): void => {
      if (msg.t === 'error' && msg.ref === 'audio.start' && !refused.signal.aborted) {
        refused.abort(new VlpClientError(msg.code, msg.message, { retryable: msg.retryable }));
      }
    };
    this.frameListeners.add(watch);
    // The caller's signal aborts `refused` too. Not AbortSignal.any: on Node 20 a long-lived caller
    // signal keeps every signal combined with it alive (nodejs/node#55351).
    const outer = opts.signal;
    const onOuterAbort = (): void => {
      if (!refused.signal.aborted) refused.abort(outer?.reason);
    };
    if (outer?.aborted === true) onOuterAbort();
    else outer?.addEventListener('abort', onOuterAbort, { once: true });
    try {
      return await pumpAudio(this.audioSink(), source, { ...opts, signal: refused.signal });
    } finally {
      this.frameListeners.delete(watch);
      outer?.removeEventListener('abort', onOuterAbort);
    }
  }

  /** Cancel a turn (the running one when no id is given). */
  cancel(turnId?: string): SendResult {
    return this.send(turnId === undefined ? { t: 'turn.cancel' } : { t: 'turn.cancel', id: turnId });
  }

  /** The user heard (or saw) only the first `heardChars` characters (code points) of the latest
   *  answer's streamed text — e.g. its speech stopped at a barge-in: the dialogue history keeps
   *  only that part (SPEC playback.truncate). */
  truncatePlayback(turnId: string, heardChars: number): SendResult {
    return this.send({ t: 'playback.truncate', turn: turnId, heard_chars: heardChars });
  }

  /**
   * Watch the session's images for objects (watch.start, SPEC section 9b): the watch examines the
   * newest image — at the start the latest one, then each putImage() — at most once per
   * `interval_ms`, so a camera sends one putImage() per frame. Starting an id that runs replaces that
   * watch. Nothing comes back on success: each label coming into view or leaving it arrives as a
   * watch.event through events(); a refusal (PROTO_INVALID_FIELD, INPUT_WATCH_LIMIT,
   * INPUT_WATCH_UNAVAILABLE) or a failed detection as an error frame with ref "watch.start". With
   * `ask`, an enter event that started a vision turn names it in `turn` (w1, w2, …, server-chosen):
   * followTurn(event.turn) streams it, its frames kept from the event on; otherwise the event's
   * `turn_skipped` says why not (busy, cooldown).
   */
  watch(opts: WatchOptions): SendResult {
    return this.send({ ...opts, t: 'watch.start' });
  }

  /** Stop a watch (watch.stop): nothing more is sent for it; a turn it started goes on. An id that
   *  runs no watch gets an error frame INPUT_WATCH_NOT_FOUND (ref "watch.stop") through events(). */
  unwatch(id: string): SendResult {
    return this.send({ t: 'watch.stop', id });
  }

  /**
   * Every server frame after ready. Each call returns an independent iterator holding at most
   * maxBacklog (default 10,000) unread frames; past that it throws CLIENT_SLOW_CONSUMER. The
   * first iterator also gets the frames received since ready (e.g. replayed after resume), as
   * long as they fit the bound. Iterators end when the connection closes.
   */
  events(): AsyncIterableIterator<ServerMessage> {
    return this.subs.events();
  }

  /** Round-trip time of a ping/pong, ms. */
  ping(timeoutMs = 10_000): Promise<number> {
    return this.pings.start((ts) => this.send({ t: 'ping', ts }), timeoutMs, () => this.closedError());
  }

  /** Close the connection (1000 by default); resolves once closed. */
  async close(code = 1000, reason = ''): Promise<void> {
    if (this.closeInfo === undefined && this.ws.readyState === WebSocket.OPEN) {
      this.ws.close(code, reason);
      // Do not wait forever for a peer that never answers the close handshake.
      const force = setTimeout(() => this.ws.terminate(), 2_000);
      force.unref();
      await this.closed;
      clearTimeout(force);
      return;
    }
    if (this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
    await this.closed;
  }

  /** Socket entry point: one ws message. */
  onMessage(data: WebSocket.RawData, isBinary: boolean): void {
    this.onDecoded(decodeFrame(this.codec, data, isBinary));
  }

  /** Socket entry point: the connection closed. */
  onClose(code: number, reason: string): void {
    if (this.closeInfo !== undefined) return;
    this.closeInfo = { code, reason };
    this.pings.rejectAll(() => this.closedError());
    this.turns.failAll((turn) => this.closedError(turn));
    this.subs.end();
    this.resolveClosed({ code, reason });
  }

  private onDecoded(r: DecodeResult<ServerMessage>): void {
    if (!r.ok) {
      this.invalidFrames += 1;
      return;
    }
    const msg = r.msg;
    if (msg.t === 'ready') this.seq.noteReady(msg.seq);
    else if (this.seq.observe(msg.seq) === 'duplicate') return;
    if (msg.t === 'pong') this.pings.settle(msg.ts);
    if (msg.t === 'error' && msg.fatal) this.fatal = msg;
    this.turns.route(msg);
    this.subs.push(msg);
    for (const l of this.frameListeners) l(msg);
    if (this.opts.autoAck && ++this.sinceAck >= this.opts.ackEvery) {
      this.sinceAck = 0;
      this.send({ t: 'ack', seq: this.lastSeq });
    }
  }

  private audioSink(): AudioSink {
    return {
      send: (msg) => this.send(msg),
      drain: () => this.drain(),
      maxChunkBytes: this.ready.limits.max_audio_chunk_bytes,
      closedError: () => this.closedError(),
    };
  }

  private closedError(turn?: string): VlpClientError {
    const f = this.fatal;
    const code = this.closeInfo?.code;
    if (f !== undefined) {
      return new VlpClientError(f.code, f.message, { retryable: f.retryable, ...(turn !== undefined && { turn }), ...(code !== undefined && { closeCode: code }) });
    }
    const why = this.closeInfo === undefined ? 'the connection is not open' : `the connection closed (${code}${this.closeInfo.reason ? ` ${this.closeInfo.reason}` : ''})`;
    return new VlpClientError('CLIENT_CLOSED', turn === undefined ? why : `turn ${turn}: ${why}`, {
      retryable: true,
      ...(turn !== undefined && { turn }),
      ...(code !== undefined && { closeCode: code }),
    });
  }
}

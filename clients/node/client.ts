// A connected vlp.v1 session on the client side: routes decoded server frames to turn handles
// (turns it asked for, and voice turns the server started from speech), events() iterators and
// pending pings; tracks seq (gaps, auto-ack); sends client messages, audio included.
import WebSocket from 'ws';
import type { ClientCodec } from '../../protocol/codec.ts';
import type { DecodeResult } from '../../protocol/validate.ts';
import type { AsrFinalMsg, AudioFormat, ClientMessage, ErrorMsg, GenParams, ReadyMsg, ServerMessage, Subprotocol } from '../../protocol/messages.ts';
import { pumpAudio, type AudioSink, type AudioStartOptions, type StreamAudioOptions, type StreamAudioResult } from './audio.ts';
import { VlpClientError } from './errors.ts';
import { BoundedQueue } from './queue.ts';
import type { SeqTracker } from './seq.ts';
import { isTerminal, TurnHandle, turnOf } from './turn.ts';
import { decodeFrame, sendFrame, type SendResult } from './wire.ts';

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

/** A voice turn the server started from a final transcript (asr.final). */
export interface VoiceTurn {
  /** Server-chosen turn id (v1, v2, ...). */
  id: string;
  /** The final transcript: the turn's question. */
  text: string;
  /** Language the ASR reported, when it did. */
  language?: string;
  /** The turn's frames, like an ask() handle (cancel(), text(), for await). */
  turn: TurnHandle;
}

/** Voice turns announced by asr.final whose frames are kept until followTurn() takes them. */
const MAX_UNFOLLOWED_VOICE_TURNS = 16;
/** Ids of voice turns whose kept frames were dropped, remembered so followTurn() can say so. */
const MAX_LOST_VOICE_IDS = 256;

interface VoiceBuffer {
  frames: ServerMessage[];
  ended: boolean;
}

interface PendingPing {
  start: number;
  resolve(rttMs: number): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
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
  private readonly turns = new Map<string, TurnHandle>();
  private readonly usedTurnIds = new Set<string>();
  private readonly subs = new Set<BoundedQueue<ServerMessage>>();
  private readonly pings = new Map<number, PendingPing>();
  /** Frames of announced voice turns nobody follows yet, oldest turn first; bounded. */
  private readonly voiceBuffers = new Map<string, VoiceBuffer>();
  private voiceBuffered = 0;
  private readonly voiceLost = new Set<string>();
  /** Server-started turn ids followTurn() has handed out (each can be followed once). */
  private readonly followedIds = new Set<string>();
  private readonly finalSubs = new Set<BoundedQueue<AsrFinalMsg>>();
  /** Internal observers of every delivered frame (streamAudio watches for audio.start errors). */
  private readonly frameListeners = new Set<(msg: ServerMessage) => void>();
  /** First events() iterator, pre-created so frames right after ready (a resume's replay) are kept. */
  private firstSub: BoundedQueue<ServerMessage> | undefined;
  private turnCounter: number;
  private sinceAck = 0;
  private lastPingTs = 0;
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
    this.turnCounter = init.turnCounter;
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    this.firstSub = this.subscribe();
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
      turnCounter: this.turnCounter,
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
    const id = opts.id ?? this.nextTurnId();
    if (this.turns.has(id)) {
      throw new VlpClientError('TURN_ID_REUSED', `turn ${id} is still running on this client`, { retryable: false, turn: id });
    }
    this.usedTurnIds.add(id);
    const handle = new TurnHandle(
      id,
      (tid) => this.cancel(tid),
      () => {
        if (this.turns.get(id) === handle) this.turns.delete(id);
      },
      this.opts.maxBacklog,
    );
    if (!this.isOpen) {
      handle.fail(this.closedError(id));
      return handle;
    }
    this.turns.set(id, handle);
    this.send({
      t: 'turn.start',
      id,
      text,
      ...(opts.image !== undefined && { image: opts.image }),
      ...(opts.model !== undefined && { model: opts.model }),
      ...(opts.params !== undefined && { params: opts.params }),
    });
    return handle;
  }

  /**
   * Follow a turn the server started: a voice turn, whose id arrives in asr.final.turn. Frames that
   * arrived between that asr.final and this call are kept (at most maxBacklog frames over the last
   * 16 unfollowed voice turns; past that the oldest turn's frames are dropped and its handle throws
   * CLIENT_SLOW_CONSUMER). An id not announced yet is followed from its first frame. Each id can be
   * followed once (TURN_ID_REUSED otherwise).
   */
  followTurn(id: string): TurnHandle {
    if (this.turns.has(id) || this.followedIds.has(id)) {
      throw new VlpClientError('TURN_ID_REUSED', `turn ${id} is already followed on this client`, { retryable: false, turn: id });
    }
    this.followedIds.add(id);
    const handle = new TurnHandle(
      id,
      (tid) => this.cancel(tid),
      () => {
        if (this.turns.get(id) === handle) this.turns.delete(id);
      },
      this.opts.maxBacklog,
    );
    const buf = this.voiceBuffers.get(id);
    if (buf !== undefined) {
      this.voiceBuffers.delete(id);
      this.voiceBuffered -= buf.frames.length;
      for (const f of buf.frames) handle.deliver(f);
      if (handle.finished) return handle;
    } else if (this.voiceLost.has(id)) {
      handle.fail(
        new VlpClientError(
          'CLIENT_SLOW_CONSUMER',
          `turn ${id}: its frames were dropped before it was followed (more than ${this.opts.maxBacklog} frames or ${MAX_UNFOLLOWED_VOICE_TURNS} voice turns waiting); follow voice turns when their asr.final arrives`,
          { retryable: false, turn: id },
        ),
      );
      return handle;
    }
    if (!this.isOpen) {
      handle.fail(this.closedError(id));
      return handle;
    }
    this.turns.set(id, handle);
    return handle;
  }

  /**
   * The voice turns the server starts from now on, one per final transcript, each with a handle
   * already following it (see followTurn()). Use one iterator at a time, created before the audio
   * starts; it ends when the connection closes. Bounded like events().
   */
  voiceTurns(): AsyncIterableIterator<VoiceTurn, undefined> {
    const q: BoundedQueue<AsrFinalMsg> = new BoundedQueue<AsrFinalMsg>(this.opts.maxBacklog, 'voiceTurns()', () => this.finalSubs.delete(q));
    if (this.closeInfo !== undefined) q.end();
    else this.finalSubs.add(q);
    const iter: AsyncIterableIterator<VoiceTurn, undefined> = {
      next: async (): Promise<IteratorResult<VoiceTurn, undefined>> => {
        const r = await q.next();
        if (r.done === true) return { value: undefined, done: true };
        const f = r.value;
        return {
          value: { id: f.turn, text: f.text, ...(f.language !== undefined && { language: f.language }), turn: this.followTurn(f.turn) },
          done: false,
        };
      },
      return: async (): Promise<IteratorResult<VoiceTurn, undefined>> => {
        await q.return();
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]: () => iter,
    };
    return iter;
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
    const signal = opts.signal === undefined ? refused.signal : AbortSignal.any([opts.signal, refused.signal]);
    try {
      return await pumpAudio(this.audioSink(), source, { ...opts, signal });
    } finally {
      this.frameListeners.delete(watch);
    }
  }

  /** Cancel a turn (the running one when no id is given). */
  cancel(turnId?: string): SendResult {
    return this.send(turnId === undefined ? { t: 'turn.cancel' } : { t: 'turn.cancel', id: turnId });
  }

  /**
   * Every server frame after ready. Each call returns an independent iterator holding at most
   * maxBacklog (default 10,000) unread frames; past that it throws CLIENT_SLOW_CONSUMER. The
   * first iterator also gets the frames received since ready (e.g. replayed after resume), as
   * long as they fit the bound. Iterators end when the connection closes.
   */
  events(): AsyncIterableIterator<ServerMessage> {
    const first = this.firstSub;
    this.firstSub = undefined;
    if (first !== undefined && (!first.closed || first.size > 0)) return first;
    return this.subscribe();
  }

  /** Round-trip time of a ping/pong, ms. */
  ping(timeoutMs = 10_000): Promise<number> {
    let ts = performance.now();
    if (ts <= this.lastPingTs) ts = this.lastPingTs + 0.001;
    this.lastPingTs = ts;
    return new Promise<number>((resolve, reject) => {
      if (this.send({ t: 'ping', ts }) === 'dropped') {
        reject(this.closedError());
        return;
      }
      const timer = setTimeout(() => {
        this.pings.delete(ts);
        reject(new VlpClientError('CLIENT_TIMEOUT', `no pong within ${timeoutMs} ms`, { retryable: true }));
      }, timeoutMs);
      this.pings.set(ts, { start: ts, resolve, reject, timer });
    });
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
    for (const p of this.pings.values()) {
      clearTimeout(p.timer);
      p.reject(this.closedError());
    }
    this.pings.clear();
    for (const h of [...this.turns.values()]) h.fail(this.closedError(h.id));
    this.turns.clear();
    for (const q of [...this.subs]) q.end();
    for (const q of [...this.finalSubs]) q.end();
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
    if (msg.t === 'pong') this.settlePing(msg.ts);
    if (msg.t === 'error' && msg.fatal) this.fatal = msg;
    this.route(msg);
    for (const q of this.subs) q.push(msg);
    for (const l of this.frameListeners) l(msg);
    if (this.opts.autoAck && ++this.sinceAck >= this.opts.ackEvery) {
      this.sinceAck = 0;
      this.send({ t: 'ack', seq: this.lastSeq });
    }
  }

  private route(msg: ServerMessage): void {
    if (msg.t === 'asr.final') {
      this.announceVoiceTurn(msg.turn);
      for (const q of this.finalSubs) q.push(msg);
      return;
    }
    let id = turnOf(msg);
    // An error for a turn.start the server rejected before it knew the turn id: it belongs to the
    // oldest turn that has not started yet (the server handles messages in order).
    if (id === undefined && msg.t === 'error' && msg.ref === 'turn.start') {
      for (const h of this.turns.values()) {
        if (!h.started && !this.followedIds.has(h.id)) {
          id = h.id;
          break;
        }
      }
    }
    if (id === undefined) return;
    const handle = this.turns.get(id);
    if (handle !== undefined) {
      handle.deliver(msg);
      return;
    }
    const buf = this.voiceBuffers.get(id);
    if (buf === undefined || buf.ended) return;
    buf.frames.push(msg);
    this.voiceBuffered += 1;
    if (isTerminal(msg)) buf.ended = true;
    while (this.voiceBuffered > this.opts.maxBacklog) this.dropOldestVoiceBuffer();
  }

  /** asr.final named a turn the server is starting: keep its frames until followTurn() takes them. */
  private announceVoiceTurn(id: string): void {
    if (this.turns.has(id) || this.followedIds.has(id) || this.voiceBuffers.has(id)) return;
    this.voiceBuffers.set(id, { frames: [], ended: false });
    while (this.voiceBuffers.size > MAX_UNFOLLOWED_VOICE_TURNS) this.dropOldestVoiceBuffer();
  }

  private dropOldestVoiceBuffer(): void {
    const oldest = this.voiceBuffers.entries().next();
    if (oldest.done === true) return;
    const [id, buf] = oldest.value;
    this.voiceBuffers.delete(id);
    this.voiceBuffered -= buf.frames.length;
    this.voiceLost.add(id);
    if (this.voiceLost.size > MAX_LOST_VOICE_IDS) {
      const first = this.voiceLost.values().next();
      if (first.done !== true) this.voiceLost.delete(first.value);
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

  private settlePing(ts: number): void {
    const p = this.pings.get(ts);
    if (p === undefined) return;
    this.pings.delete(ts);
    clearTimeout(p.timer);
    p.resolve(performance.now() - p.start);
  }

  private subscribe(): BoundedQueue<ServerMessage> {
    const q: BoundedQueue<ServerMessage> = new BoundedQueue<ServerMessage>(this.opts.maxBacklog, 'events()', () =>
      this.subs.delete(q),
    );
    if (this.closeInfo !== undefined) q.end();
    else this.subs.add(q);
    return q;
  }

  private nextTurnId(): string {
    let id: string;
    do {
      this.turnCounter += 1;
      id = `t${this.turnCounter}`;
    } while (this.usedTurnIds.has(id));
    return id;
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

// WhisperLive (collabora/WhisperLive) behind the ASR port: one `ws` WebSocket per stream; the
// options as the first text frame, then every sample of the stream as binary float32 LE frames,
// and the server's `segments` windows mapped onto the gateway VAD's utterances.
// Wire format: backend-protocols §5.
//
// Sample clock: the server times segments in seconds of audio received; we send all audio, so
// server second t is our sample t × 16000 (+ whatever was dropped from the pre-ready buffer).
//
// Utterance mapping: a segment belongs to the utterance in progress when it ends after the
// utterance's start (minus a small margin) and, if a previous utterance still waits for its
// final, starts at or after that one's end. Completed segments are the partial's stable part,
// the in-progress one its unstable part. After speechEnd the final waits for a message in which
// none of the utterance's segments is still in progress (WhisperLive completes the last segment
// after `same_output_threshold` identical passes), or finalizeTimeoutMs, after which the last
// in-progress text is used. Text already given out in a final is stripped from segments that
// grow past it (the server does not know our utterance boundaries).
import { randomUUID } from 'node:crypto';
import { endianness } from 'node:os';
import WebSocket from 'ws';
import type { RawData } from 'ws';
import type { VlpError } from '../../../protocol/errors.ts';
import type { AsrBackend, AsrEvent, AsrHandlers, AsrOptions, AsrStream } from './port.ts';
import { ASR_DEFAULTS, ASR_SAMPLE_RATE, SAMPLES_PER_MS, positiveOption, resolveCommon } from './config.ts';
import type { ResolvedCommon, WhisperLiveConfig } from './config.ts';
import {
  asrProtocolError, asrTimeoutError, whisperLiveClosedError, whisperLiveDisconnectError, whisperLiveStatusError,
  whisperLiveTransportError, whisperLiveWaitError,
} from './errors.ts';
import { commonPrefix, glue, joinTokens, tidy, tokens } from './text.ts';

const SERVICE = 'WhisperLive';
const LITTLE_ENDIAN = endianness() === 'LE';
const END_OF_AUDIO = Buffer.from('END_OF_AUDIO');
const SCALE = 1 / 32768;
/** A segment may end this much before the utterance's VAD start and still belong to it, s. */
const START_MARGIN_S = 0.3;
/** Float tolerance on the server's 3-decimal times, s. */
const EPS_S = 0.0015;
/** An in-progress segment that revised text already finalized, ending this little past it, adds
 *  nothing new, s. */
const REVISION_SLACK_S = 0.3;
/** While write() is refused, the socket buffer is checked this often, ms. */
const DRAIN_POLL_MS = 5;
/** After close(), a server that does not finish the close handshake is cut off after this, ms. */
const CLOSE_GRACE_MS = 1_000;
/** Pre-ready audio is sent in frames of this many samples (1 s). */
const FLUSH_FRAME = ASR_SAMPLE_RATE;
/** Largest audio frame, samples (4 s = 256 KB of float32). */
const MAX_FRAME = 4 * ASR_SAMPLE_RATE;
/** Completed segments remembered (besides pruning by time). */
const MAX_SEGMENTS = 500;

interface Segment {
  /** Seconds on the server's clock. */
  start: number;
  end: number;
  /** Tidied text. */
  text: string;
  completed: boolean;
}

interface Utterance {
  /** Stream samples of the VAD's start and (once speechEnd came) end; mapped to the server's
   *  clock when used, since pre-ready drops move it. */
  startSample: number;
  endSample: number | undefined;
  /** speechEnd without a speechStart: an empty final. */
  empty: boolean;
  /** Messages seen when speechEnd came (the final waits for a later one). */
  endSeq: number;
  timer: NodeJS.Timeout | undefined;
  lastPartial: string;
}

export interface WhisperLiveSettings extends ResolvedCommon {
  url: string;
  model: string;
  useVad: boolean;
  sendLastNSegments: number;
  noSpeechThresh: number | undefined;
  sameOutputThreshold: number | undefined;
  highWaterMarkBytes: number;
  preReadyBufferMs: number;
}

/** The first (text) frame: WhisperLive's client options. */
export function whisperLiveOptions(uid: string, opts: AsrOptions, s: WhisperLiveSettings): Record<string, unknown> {
  const o: Record<string, unknown> = {
    uid,
    language: opts.language ?? null,
    task: opts.task,
    model: s.model,
    use_vad: s.useVad,
    send_last_n_segments: s.sendLastNSegments,
    initial_prompt: opts.initialPrompt ?? null,
    word_timestamps: opts.wordTimestamps === true,
  };
  if (s.noSpeechThresh !== undefined) o.no_speech_thresh = s.noSpeechThresh;
  if (s.sameOutputThreshold !== undefined) o.same_output_threshold = s.sameOutputThreshold;
  return o;
}

function seconds(v: unknown): number {
  const n = typeof v === 'string' ? Number(v) : typeof v === 'number' ? v : NaN;
  return Number.isFinite(n) ? n : NaN;
}

/** Parses a `segments` array; undefined when its shape is wrong. Servers before v0.6.0 send no
 *  `completed`: there the last segment is the one in progress. */
export function parseSegments(raw: unknown[]): Segment[] | undefined {
  const out: Segment[] = [];
  for (let i = 0; i < raw.length; i++) {
    const r = raw[i];
    if (typeof r !== 'object' || r === null) return undefined;
    const o = r as Record<string, unknown>;
    const start = seconds(o.start);
    const end = seconds(o.end);
    if (Number.isNaN(start) || Number.isNaN(end) || typeof o.text !== 'string') return undefined;
    const completed = typeof o.completed === 'boolean' ? o.completed : i < raw.length - 1;
    out.push({ start, end, text: tidy(o.text), completed });
  }
  return out;
}

const enum State {
  Connecting,
  /** Open, options sent, waiting for SERVER_READY. */
  Waiting,
  Ready,
  Dead,
}

export class WhisperLiveStream implements AsrStream {
  private readonly ws: WebSocket;
  private state = State.Connecting;
  private readyTimer: NodeJS.Timeout | undefined;
  /** Samples written since the stream began. */
  private pos = 0;
  /** Samples dropped from the pre-ready buffer (server second 0 is our sample `dropped`). */
  private dropped = 0;
  private pending: Int16Array[] = [];
  private pendingSamples = 0;
  private readonly maxPending: number;
  private scratch = new Float32Array(320);
  private view: Float32Array = this.scratch;
  private blocked = false;
  private drainTimer: NodeJS.Timeout | undefined;
  private drainCb: (() => void) | undefined;
  private readonly lowWater: number;
  private readonly maxUtterance: number;

  private completed: Segment[] = [];
  /** Start and end of the newest completed segment ever seen. */
  private completedStart = -Infinity;
  private completedEnd = -Infinity;
  private inProgress: Segment[] = [];
  /** Segments given out in finals (with their full text), to strip from segments that grow on. */
  private consumed: Segment[] = [];
  private utts: Utterance[] = [];
  /** The utterance in speech (last of `utts`), if any. */
  private open: Utterance | undefined;
  private seq = 0;
  private language: string | undefined;

  constructor(
    private readonly opts: AsrOptions,
    private readonly handlers: AsrHandlers,
    private readonly s: WhisperLiveSettings,
    private readonly onClosed?: () => void,
  ) {
    this.maxPending = Math.round(s.preReadyBufferMs * SAMPLES_PER_MS);
    this.lowWater = s.highWaterMarkBytes / 4;
    this.maxUtterance = Math.round(s.maxUtteranceMs * SAMPLES_PER_MS);
    this.ws = new WebSocket(s.url, { perMessageDeflate: false, handshakeTimeout: s.requestTimeoutMs, maxPayload: 16 << 20 });
    this.ws.on('open', this.onOpen);
    this.ws.on('message', this.onMessage);
    this.ws.on('error', this.onError);
    this.ws.on('close', this.onClose);
    this.readyTimer = setTimeout(() => this.fail(asrTimeoutError(SERVICE, 'connecting and loading the model (SERVER_READY)', s.requestTimeoutMs)), s.requestTimeoutMs);
    this.readyTimer.unref();
  }

  // ---------------------------------------------------------------------------------------------
  // Audio path

  write(samples: Int16Array): boolean {
    if (this.state === State.Dead) return true;
    this.pos += samples.length;
    const u = this.open;
    if (u !== undefined && this.pos - u.startSample > this.maxUtterance) this.cut();
    if (this.state !== State.Ready) {
      this.hold(samples);
      return true;
    }
    this.send(samples);
    if (this.ws.bufferedAmount > this.s.highWaterMarkBytes) {
      this.block();
      return false;
    }
    return true;
  }

  onDrain(cb: () => void): void {
    this.drainCb = cb;
  }

  /** Converts to float32 LE in a reused buffer and sends one binary frame. ws copies the payload
   *  while masking it (client frames are masked; a typed-array payload is treated as read-only),
   *  so the buffer is free again when send() returns. */
  private send(samples: Int16Array): void {
    const n = samples.length;
    if (n === 0) return;
    if (n > MAX_FRAME) {
      // Frames stay well under the server's message limit (python-websockets: 1 MiB).
      for (let off = 0; off < n; off += MAX_FRAME) this.send(samples.subarray(off, Math.min(n, off + MAX_FRAME)));
      return;
    }
    let f = this.scratch;
    if (f.length < n) {
      f = this.scratch = new Float32Array(Math.max(n, f.length * 2));
      this.view = f;
    }
    if (LITTLE_ENDIAN) {
      for (let i = 0; i < n; i++) f[i] = (samples[i] as number) * SCALE;
      if (this.view.length !== n) this.view = f.subarray(0, n);
      this.ws.send(this.view);
    } else {
      const bytes = Buffer.allocUnsafe(n * 4);
      for (let i = 0; i < n; i++) bytes.writeFloatLE((samples[i] as number) * SCALE, i * 4);
      this.ws.send(bytes);
    }
  }

  /** Before SERVER_READY: keep a copy, at most preReadyBufferMs (oldest dropped). */
  private hold(samples: Int16Array): void {
    if (samples.length === 0) return;
    this.pending.push(samples.slice());
    this.pendingSamples += samples.length;
    while (this.pendingSamples > this.maxPending) {
      const first = this.pending[0] as Int16Array;
      const excess = this.pendingSamples - this.maxPending;
      if (first.length <= excess) {
        this.pending.shift();
        this.pendingSamples -= first.length;
        this.dropped += first.length;
      } else {
        this.pending[0] = first.subarray(excess);
        this.pendingSamples -= excess;
        this.dropped += excess;
      }
    }
  }

  private flushPending(): void {
    const chunks = this.pending;
    this.pending = [];
    let frame = new Int16Array(Math.min(FLUSH_FRAME, this.pendingSamples));
    let fill = 0;
    for (const c of chunks) {
      let off = 0;
      while (off < c.length) {
        const take = Math.min(c.length - off, frame.length - fill);
        frame.set(c.subarray(off, off + take), fill);
        fill += take;
        off += take;
        if (fill === frame.length) {
          this.send(frame);
          fill = 0;
          frame = new Int16Array(frame.length);
        }
      }
    }
    if (fill > 0) this.send(frame.subarray(0, fill));
    this.pendingSamples = 0;
    if (this.ws.bufferedAmount > this.s.highWaterMarkBytes) this.block();
  }

  private block(): void {
    if (this.blocked) return;
    this.blocked = true;
    this.drainTimer = setInterval(this.pollDrain, DRAIN_POLL_MS);
    this.drainTimer.unref();
  }

  private readonly pollDrain = (): void => {
    if (this.state === State.Dead) return this.stopDrainPoll();
    if (this.ws.bufferedAmount > this.lowWater) return;
    this.stopDrainPoll();
    this.drainCb?.();
  };

  private stopDrainPoll(): void {
    this.blocked = false;
    if (this.drainTimer !== undefined) clearInterval(this.drainTimer);
    this.drainTimer = undefined;
  }

  // ---------------------------------------------------------------------------------------------
  // Utterances

  /** Server seconds of stream sample `n`. */
  private sec(n: number): number {
    return Math.max(0, n - this.dropped) / ASR_SAMPLE_RATE;
  }

  speechStart(atSample: number): void {
    if (this.state === State.Dead || this.open !== undefined) return;
    const u: Utterance = { startSample: atSample, endSample: undefined, empty: false, endSeq: 0, timer: undefined, lastPartial: '' };
    this.utts.push(u);
    this.open = u;
  }

  speechEnd(atSample: number): void {
    if (this.state === State.Dead) return;
    let u = this.open;
    if (u === undefined) {
      u = { startSample: atSample, endSample: undefined, empty: true, endSeq: 0, timer: undefined, lastPartial: '' };
      this.utts.push(u);
    }
    this.open = undefined;
    u.endSample = Math.max(u.startSample, atSample);
    u.endSeq = this.seq;
    const ended = u;
    u.timer = setTimeout(() => this.finalizeUpTo(ended), this.s.finalizeTimeoutMs);
    u.timer.unref();
    if (u.empty) this.update();
  }

  /** maxUtteranceMs reached: end the utterance here and go on with a new one. */
  private cut(): void {
    const at = this.pos;
    this.speechEnd(at);
    this.speechStart(at);
  }

  /** Segments of `u` (the first of `utts` unless forced in order): completed and in progress,
   *  with text already finalized stripped. */
  private collect(u: Utterance): { done: Segment[]; live: Segment[] } {
    const idx = this.utts.indexOf(u);
    const prev = idx > 0 ? this.utts[idx - 1] : undefined;
    const lower = prev?.endSample === undefined ? -Infinity : this.sec(prev.endSample);
    const start = this.sec(u.startSample);
    const end = u.endSample === undefined ? undefined : this.sec(u.endSample);
    const done: Segment[] = [];
    const live: Segment[] = [];
    const take = (seg: Segment, into: Segment[]): void => {
      if (seg.end <= start - START_MARGIN_S || seg.start < lower - EPS_S) return;
      if (end !== undefined && seg.start >= end - EPS_S) return;
      const text = this.unconsumed(seg);
      if (text === '') return;
      into.push(text === seg.text ? seg : { ...seg, text });
    };
    for (const seg of this.completed) take(seg, done);
    for (const seg of this.inProgress) take(seg, live);
    return { done, live };
  }

  /** The part of `seg`'s text not given out in an earlier final. */
  private unconsumed(seg: Segment): string {
    for (let i = this.consumed.length - 1; i >= 0; i--) {
      const c = this.consumed[i] as Segment;
      if (seg.start >= c.end - EPS_S || seg.end <= c.start + EPS_S) continue;
      const st = tokens(seg.text);
      const ct = tokens(c.text);
      const k = commonPrefix(ct, st);
      if (k === ct.length) return joinTokens(st.slice(k));
      if (seg.end <= c.end + REVISION_SLACK_S) return '';
      return joinTokens(st.slice(ct.length));
    }
    return seg.text;
  }

  /** Emits finals of utterances that are complete, then the partial of the first waiting one. */
  private update(): void {
    while (!this.dead) {
      const u = this.utts[0];
      if (u === undefined) return;
      if (u.empty) {
        this.final(u, [], []);
        continue;
      }
      const { done, live } = this.collect(u);
      if (u.endSample !== undefined && this.seq > u.endSeq && live.length === 0) {
        this.final(u, done, []);
        continue;
      }
      const stable = joinTexts(done);
      const unstable = glue(stable, joinTexts(live));
      // Only a change of the text is news (the port's rule), not of its stable/unstable split.
      const text = stable + unstable;
      if (text !== u.lastPartial) {
        u.lastPartial = text;
        this.emit({ kind: 'partial', stable, unstable });
      }
      return;
    }
  }

  /** finalizeTimeoutMs after `u`'s speechEnd: final from the latest segments, in progress or not
   *  (and the same for any utterance before it). */
  private finalizeUpTo(u: Utterance): void {
    if (this.state === State.Dead || !this.utts.includes(u)) return;
    while (!this.dead && this.utts.length > 0) {
      const head = this.utts[0] as Utterance;
      if (head.empty) {
        this.final(head, [], []);
      } else {
        const { done, live } = this.collect(head);
        this.final(head, done, live);
      }
      if (head === u) break;
    }
    this.update();
  }

  private final(u: Utterance, done: Segment[], live: Segment[]): void {
    if (u.timer !== undefined) clearTimeout(u.timer);
    this.utts.shift();
    const used = done.concat(live);
    for (const seg of used) {
      // Remember the whole server text of the segment: a later, longer version strips all of it.
      const full = this.completed.find((c) => c.start === seg.start) ?? this.inProgress.find((c) => c.start === seg.start) ?? seg;
      this.consumed.push(full);
    }
    const language = this.opts.language ?? this.language;
    const text = joinTexts(used);
    this.emit(language === undefined ? { kind: 'final', text } : { kind: 'final', text, language });
    this.prune();
  }

  /** Forgets segments that can no longer belong to an utterance. */
  private prune(): void {
    const floor = this.sec(this.utts[0]?.startSample ?? this.pos) - START_MARGIN_S - 60;
    let i = 0;
    while (i < this.completed.length && ((this.completed[i] as Segment).end < floor || this.completed.length - i > MAX_SEGMENTS)) i++;
    if (i > 0) this.completed.splice(0, i);
    let j = 0;
    while (j < this.consumed.length && ((this.consumed[j] as Segment).end < floor || this.consumed.length - j > MAX_SEGMENTS)) j++;
    if (j > 0) this.consumed.splice(0, j);
  }

  private addCompleted(seg: Segment): void {
    // Windows repeat the last N completed segments: keep one copy, in order (as the Python
    // client does: a completed segment is new when it starts at or after the last one's end).
    // Tracked apart from `completed`, which prune() shortens.
    if (seg.start < this.completedEnd - EPS_S || Math.abs(seg.start - this.completedStart) < EPS_S) return;
    this.completedStart = seg.start;
    this.completedEnd = seg.end;
    this.completed.push(seg);
  }

  // ---------------------------------------------------------------------------------------------
  // Socket events

  private readonly onOpen = (): void => {
    if (this.state !== State.Connecting) return;
    this.state = State.Waiting;
    this.ws.send(JSON.stringify(whisperLiveOptions(randomUUID(), this.opts, this.s)));
  };

  private readonly onMessage = (data: RawData, isBinary: boolean): void => {
    if (this.state === State.Dead || isBinary) return;
    let msg: unknown;
    try {
      msg = JSON.parse(data.toString());
    } catch (err) {
      return this.fail(asrProtocolError(SERVICE, 'a text frame is not JSON', err));
    }
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return this.fail(asrProtocolError(SERVICE, 'a message is not a JSON object'));
    const m = msg as Record<string, unknown>;
    if (m.status !== undefined) {
      if (m.status === 'WAIT') return this.fail(whisperLiveWaitError(m.message));
      if (m.status === 'ERROR') return this.fail(whisperLiveStatusError(m.message));
      return; // WARNING (backend fallback) and unknown statuses are informational
    }
    if (m.message === 'SERVER_READY') return this.onReady();
    if (m.message === 'DISCONNECT') return this.fail(whisperLiveDisconnectError());
    if (m.segments !== undefined) {
      if (!Array.isArray(m.segments)) return this.fail(asrProtocolError(SERVICE, '`segments` is not an array'));
      const segs = parseSegments(m.segments);
      if (segs === undefined) return this.fail(asrProtocolError(SERVICE, 'a segment lacks numeric start/end or text'));
      return this.onSegments(segs);
    }
    if (typeof m.language === 'string') this.language = m.language;
    // translated_segments and unknown messages are ignored.
  };

  private onReady(): void {
    if (this.state !== State.Waiting) return;
    if (this.readyTimer !== undefined) clearTimeout(this.readyTimer);
    this.readyTimer = undefined;
    this.state = State.Ready;
    if (this.pendingSamples > 0) this.flushPending();
    else this.pending = [];
  }

  private onSegments(segs: Segment[]): void {
    const live: Segment[] = [];
    for (const seg of segs) {
      if (seg.completed) this.addCompleted(seg);
      else live.push(seg);
    }
    this.inProgress = live;
    this.seq++;
    this.update();
  }

  private readonly onError = (err: Error): void => {
    if (this.state === State.Dead) return;
    this.fail(whisperLiveTransportError(err, this.state !== State.Connecting));
  };

  private readonly onClose = (code: number): void => {
    if (this.state === State.Dead) return;
    this.fail(whisperLiveClosedError(code, this.state === State.Ready));
  };

  // ---------------------------------------------------------------------------------------------
  // Ending

  /** A getter, not a narrowed field read: consumers may close the stream inside onEvent. */
  private get dead(): boolean {
    return this.state === State.Dead;
  }

  close(): void {
    if (this.state === State.Dead) return;
    this.shutdown();
  }

  private shutdown(): void {
    const wasOpen = this.ws.readyState === WebSocket.OPEN;
    this.state = State.Dead;
    if (this.readyTimer !== undefined) clearTimeout(this.readyTimer);
    this.stopDrainPoll();
    for (const u of this.utts) if (u.timer !== undefined) clearTimeout(u.timer);
    this.utts = [];
    this.open = undefined;
    this.pending = [];
    if (wasOpen) {
      this.ws.send(END_OF_AUDIO);
      this.ws.close(1000);
      const ws = this.ws;
      setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
    } else {
      this.ws.terminate();
    }
    this.onClosed?.();
  }

  private fail(error: VlpError): void {
    if (this.state === State.Dead) return;
    this.shutdown();
    this.handlers.onEvent({ kind: 'error', error });
  }

  private emit(ev: AsrEvent): void {
    if (this.state !== State.Dead) this.handlers.onEvent(ev);
  }
}

function joinTexts(segs: readonly Segment[]): string {
  let out = '';
  for (const s of segs) out += glue(out, s.text);
  return out;
}

export function resolveWhisperLive(cfg: WhisperLiveConfig): WhisperLiveSettings {
  const url = new URL(cfg.url);
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new Error('asr backend whisperlive: url must be ws:// or wss://');
  return {
    ...resolveCommon(cfg),
    url: cfg.url,
    model: cfg.model ?? ASR_DEFAULTS.whisperLiveModel,
    useVad: cfg.useVad ?? false,
    sendLastNSegments: positiveOption('sendLastNSegments', cfg.sendLastNSegments, ASR_DEFAULTS.sendLastNSegments),
    noSpeechThresh: cfg.noSpeechThresh,
    sameOutputThreshold: cfg.sameOutputThreshold,
    highWaterMarkBytes: positiveOption('highWaterMarkBytes', cfg.highWaterMarkBytes, ASR_DEFAULTS.highWaterMarkBytes),
    preReadyBufferMs: positiveOption('preReadyBufferMs', cfg.preReadyBufferMs, ASR_DEFAULTS.preReadyBufferMs),
  };
}

export function createWhisperLiveBackend(cfg: WhisperLiveConfig): AsrBackend {
  const s = resolveWhisperLive(cfg);
  const streams = new Set<WhisperLiveStream>();
  const url = new URL(s.url);
  return {
    // Origin and path only: never credentials or a ?token= from the URL.
    id: `whisperlive:${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`,
    capabilities: { livePartials: true, translate: true },
    open(opts, handlers) {
      const stream: WhisperLiveStream = new WhisperLiveStream(opts, handlers, s, () => streams.delete(stream));
      streams.add(stream);
      return stream;
    },
    /** Opens a WebSocket and closes it (the server logs a client that left before sending its
     *  options; no model is loaded). */
    probe: (timeoutMs) =>
      new Promise<boolean>((resolve) => {
        const ws = new WebSocket(s.url, { perMessageDeflate: false, handshakeTimeout: timeoutMs });
        const done = (ok: boolean): void => {
          clearTimeout(timer);
          ws.removeAllListeners();
          ws.on('error', () => undefined);
          if (ok) ws.close(1000);
          else ws.terminate();
          resolve(ok);
        };
        const timer = setTimeout(() => done(false), timeoutMs);
        timer.unref();
        ws.once('open', () => done(true));
        ws.once('error', () => done(false));
      }),
    async close() {
      for (const st of streams) st.close();
      streams.clear();
    },
  };
}

// One connection of the simulated WhisperLive server (whisperlive.ts): the options frame, model
// load, audio frames read as float32/int16/uint8, the speech/silence state machine over 5 ms
// sub-frame energies, clip matching at partial ticks, `segments` windows, faults. It talks through
// a WlSocket, so it knows nothing of the WebSocket library.
//
// Built to be cheap per audio frame (a benchmark drives 1000 connections × 50 frames/s): each frame
// only adds sample energies into 5 ms sub-frames and advances a speech/silence state machine; clip
// matching runs at partial ticks while an utterance is undecided; nothing re-scans the audio, and no
// audio is kept (45 s of sub-frame energies at most, trimmed like the real 45 s buffer).
import type { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { fnv1a, mulberry32, type Rand } from '../random.ts';
import { CLICK_GAP_SUBS, CLICK_MAX_SUBS, clipOutput, joinTokens, placeholderTokens, pseudoProb, type ClipBook, type ClipToken } from './clip-book.ts';
import { distanceAt, EnergyTrack, FRAME_SUBS, MAX_SHIFT_SUBS, ONSET_ENERGY, SUBS_PER_SECOND } from './fingerprint.ts';
import { pyJson } from './pyjson.ts';
import { END_OF_AUDIO } from './whisperlive-types.ts';
import type {
  WhisperLiveClientStats, WhisperLiveCloseReason, WhisperLiveConnectionEvent, WhisperLiveFault, WhisperLiveSegment, WhisperLiveSimEvents,
  WhisperLiveStats, WlSocket,
} from './whisperlive-types.ts';

export interface Timing {
  modelLoadMs: number;
  partialEveryMs: number;
  endSilenceSubs: number;
  finalizeDelayMs: number;
  jitter: number;
  maxConnectionTimeS: number;
}

export interface Shared {
  timing: Timing;
  book: ClipBook;
  events: EventEmitter<WhisperLiveSimEvents>;
  stats: WhisperLiveStats;
  byUid: Map<string, WhisperLiveClientStats>;
  clients: Set<Conn>;
  conns: Set<Conn>;
  watchAudio: ((e: WhisperLiveConnectionEvent) => boolean) | undefined;
  maxClients: number;
  backend: string;
  seed: number;
  defaultFault: WhisperLiveFault | undefined;
  queue: { fault: WhisperLiveFault; remaining: number }[];
}

/** Speech state of the utterance in progress (sub-frame indices are absolute). */
interface Utterance {
  onset: number;
  lastVoiced: number;
  /** Decision: a clip run (clip text), 'placeholder', or undecided. */
  kind: 'undecided' | 'clip' | 'placeholder';
  /** The clip run this utterance speaks (kind 'clip'). */
  run?: ClipRun;
}

/** A matched clip being spoken; utterances that start inside it continue its words. */
interface ClipRun {
  start: number; // sub-frame of the clip's speech onset
  endSub: number; // start + clip speech length
  tokens: readonly ClipToken[];
  unspaced: boolean;
  next: number; // first token not yet in a completed segment
}

const SILENCE_GAP_FOR_MATCH_SUBS = 20; // a later onset within 100 ms after a clip's end still belongs to it
const MAX_BUFFER_SUBS = 45 * SUBS_PER_SECOND;
const TRIM_SUBS = 30 * SUBS_PER_SECOND;
/** Speech heard before an unmatched utterance is declared placeholder speech. */
const MAX_UNDECIDED_SUBS = 0.9 * SUBS_PER_SECOND;
const MAX_UID_ENTRIES = 20_000;

function fmt3(sec: number): string {
  return sec.toFixed(3);
}

export class Conn {
  uid: string | null = null;
  options: Record<string, unknown> = {};
  state: 'options' | 'loading' | 'ready' | 'closed' = 'options';
  frames = 0;
  bytes = 0;
  format: 'float32' | 'int16' | 'uint8' = 'float32';
  language: string | null = null;
  task: 'transcribe' | 'translate' = 'transcribe';
  sendLastN = 10;
  startedAt = performance.now();
  fault: WhisperLiveFault | undefined;
  segmentsSent = 0;
  stalled = false;
  rand: Rand = Math.random;
  track = new EnergyTrack(200);
  utt: Utterance | undefined;
  run: ClipRun | undefined;
  transcript: WhisperLiveSegment[] = [];
  /** The same, serialised (completed segments never change). */
  transcriptJson: string[] = [];
  uidJson: string | undefined;
  tick: NodeJS.Timeout | undefined;
  /** Utterances that ended and wait for their finalize delay, oldest first, with their timers. */
  finalizers = new Map<Utterance, NodeJS.Timeout>();
  loadTimer: NodeJS.Timeout | undefined;
  audioSinceTick = false;
  lastPartial = '';
  languageSent = false;
  /** Language of the first matched clip (reported when the client sent language null). */
  detected: string | undefined;
  pending: ArrayBuffer[] = []; // audio that arrived while the model was loading (the real server reads it later)
  closedReason: WhisperLiveCloseReason | null = null;
  record: WhisperLiveClientStats | undefined;
  /** Emits `audio` events (Shared.watchAudio). */
  watched = true;

  constructor(
    readonly id: number,
    readonly ws: WlSocket,
    readonly sh: Shared,
  ) {}

  delay(ms: number): number {
    const j = this.sh.timing.jitter;
    return j === 0 ? ms : ms * (1 + (this.rand() * 2 - 1) * j);
  }

  send(obj: unknown): void {
    if (this.ws.open) this.ws.sendText(pyJson(obj));
  }

  /** Close with 1000 like the Python server when its handler returns. */
  end(reason: WhisperLiveCloseReason): void {
    if (this.closedReason === null) this.closedReason = reason;
    if (this.record && this.record.closedReason === null) this.record.closedReason = this.closedReason;
    this.cleanup();
    if (this.ws.open) this.ws.end(1000);
  }

  cleanup(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    if (this.tick) clearTimeout(this.tick);
    if (this.loadTimer) clearTimeout(this.loadTimer);
    for (const t of this.finalizers.values()) clearTimeout(t);
    this.finalizers.clear();
    this.tick = undefined;
    this.sh.clients.delete(this);
    this.pending = [];
  }

  /** One message; `data` is valid only during the call (uWS reuses it): what is kept is copied. */
  onMessage(data: ArrayBuffer, isBinary: boolean): void {
    if (this.state === 'options') return this.onOptions(Buffer.from(data));
    if (this.state === 'closed') return;
    if (!isBinary) return this.end('protocol_error'); // np.frombuffer(str) raises: the server closes
    if (this.state === 'loading') {
      this.pending.push(data.slice(0));
      return;
    }
    this.onAudio(data);
  }

  onOptions(buf: Buffer): void {
    let opts: unknown;
    try {
      opts = JSON.parse(buf.toString('utf8')); // json.loads also takes a binary frame's bytes
    } catch {
      return this.end('invalid_options');
    }
    if (typeof opts !== 'object' || opts === null || Array.isArray(opts)) return this.end('invalid_options');
    const o = opts as Record<string, unknown>;
    this.options = o;
    const fault = this.pickFault();
    this.fault = fault;
    const uid = o.uid;
    // is_server_full reads options["uid"] only when full; a missing key then raises → silent close.
    const full = fault?.kind === 'server_full' || this.sh.clients.size >= this.sh.maxClients;
    if (full) {
      if (!('uid' in o)) return this.end('invalid_options');
      this.sh.stats.rejectedFull++;
      this.send({ uid, status: 'WAIT', message: this.waitMinutes() });
      return this.end('server_full');
    }
    const format = o.audio_format ?? 'float32';
    if (format !== 'float32' && format !== 'int16' && format !== 'uint8') return this.end('invalid_options');
    // ServeClientFasterWhisper(language=options["language"], task=options["task"], client_uid=options["uid"], model=options["model"])
    if (!('language' in o) || !('task' in o) || !('uid' in o) || !('model' in o)) return this.end('invalid_options');
    this.format = format;
    this.uid = String(uid);
    const model = o.model;
    this.language = typeof model === 'string' && model.endsWith('en') ? 'en' : typeof o.language === 'string' ? o.language : null;
    this.task = o.task === 'translate' ? 'translate' : 'transcribe';
    const n = o.send_last_n_segments;
    this.sendLastN = typeof n === 'number' && Number.isInteger(n) && n > 0 ? n : 10;
    this.rand = mulberry32(fnv1a(this.uid, this.sh.seed >>> 0));
    this.record = { id: this.id, frames: 0, bytes: 0, open: true, closedReason: null, segmentsMessages: 0 };
    const byUid = this.sh.byUid;
    byUid.delete(this.uid);
    byUid.set(this.uid, this.record);
    if (byUid.size > MAX_UID_ENTRIES) {
      for (const [k, v] of byUid) {
        if (byUid.size <= MAX_UID_ENTRIES) break;
        if (!v.open) byUid.delete(k);
      }
    }
    const ev: WhisperLiveConnectionEvent = { id: this.id, uid: this.uid, options: o, fault: fault?.kind ?? null, atMs: performance.now() };
    this.watched = this.sh.watchAudio?.(ev) ?? true;
    this.sh.events.emit('connection', ev);
    this.state = 'loading';
    this.loadTimer = setTimeout(() => this.onLoaded(typeof model === 'string' ? model : String(model)), this.delay(this.sh.timing.modelLoadMs));
  }

  waitMinutes(): number {
    const max = this.sh.timing.maxConnectionTimeS;
    let wait: number | undefined;
    const now = performance.now();
    for (const c of this.sh.clients) {
      const remaining = max - (now - c.startedAt) / 1000;
      if (wait === undefined || remaining < wait) wait = remaining;
    }
    return wait === undefined ? 0 : wait / 60;
  }

  pickFault(): WhisperLiveFault | undefined {
    const head = this.sh.queue[0];
    if (head !== undefined) {
      if (--head.remaining <= 0) this.sh.queue.shift();
      return head.fault;
    }
    return this.sh.defaultFault;
  }

  onLoaded(model: string): void {
    this.loadTimer = undefined;
    if (this.state !== 'loading') return;
    if (this.fault?.kind === 'model_load_error') {
      this.send({ uid: this.uid, status: 'ERROR', message: `Failed to load model: ${model}` });
      return this.end('model_load_error');
    }
    this.state = 'ready';
    this.startedAt = performance.now();
    this.sh.clients.add(this);
    this.sh.stats.clients = this.sh.clients.size;
    this.send({ uid: this.uid, message: 'SERVER_READY', backend: this.sh.backend });
    this.sh.events.emit('ready', { id: this.id, uid: this.uid as string });
    const pending = this.pending;
    this.pending = [];
    for (const b of pending) if (this.state === 'ready') this.onAudio(b);
  }

  /** The frame's samples as np.frombuffer reads them (a view: `data` is a whole ArrayBuffer, so
   *  it is aligned); null when the size is not a whole number of samples. */
  samplesOf(data: ArrayBuffer): Float32Array | Int16Array | null {
    if (this.format === 'float32') return data.byteLength % 4 === 0 ? new Float32Array(data) : null;
    if (this.format === 'int16') return data.byteLength % 2 === 0 ? new Int16Array(data) : null;
    const bytes = new Uint8Array(data);
    const f = new Float32Array(bytes.length);
    for (let i = 0; i < bytes.length; i++) f[i] = ((bytes[i] as number) - 128) / 128;
    return f;
  }

  onAudio(data: ArrayBuffer): void {
    if (data.byteLength === END_OF_AUDIO.length && END_OF_AUDIO.equals(new Uint8Array(data))) {
      this.sh.stats.endOfAudio++;
      return this.end('end_of_audio'); // nothing is sent back; buffered audio is not flushed
    }
    // is_client_timeout runs before each receive (checked every 16th frame here: cheaper, same effect).
    if ((this.frames & 15) === 0 && (performance.now() - this.startedAt) / 1000 >= this.sh.timing.maxConnectionTimeS) {
      this.send({ uid: this.uid, message: 'DISCONNECT' });
      return this.end('connection_time_exceeded');
    }
    const samples = this.samplesOf(data);
    if (samples === null) return this.end('protocol_error'); // np.frombuffer: buffer size must be a multiple of element size
    this.frames++;
    this.bytes += data.byteLength;
    const st = this.sh.stats;
    st.frames++;
    st.bytes += data.byteLength;
    const rec = this.record as WhisperLiveClientStats;
    rec.frames = this.frames;
    rec.bytes = this.bytes;
    if (this.watched && this.sh.events.listenerCount('audio') > 0) this.sh.events.emit('audio', { id: this.id, uid: this.uid as string, frames: this.frames, bytes: this.bytes });
    const track = this.track;
    const before = track.length;
    if (samples instanceof Float32Array) track.pushFloat(samples);
    else track.pushInt16(samples);
    // Speech state on each 20 ms window that became complete (window start = sub - 3).
    for (let i = Math.max(before, FRAME_SUBS - 1); i < track.length; i++) this.onWindow(i - (FRAME_SUBS - 1));
    if (track.length - track.first > MAX_BUFFER_SUBS) track.trim(track.length - (MAX_BUFFER_SUBS - TRIM_SUBS));
    this.audioSinceTick = true;
    if (this.tick === undefined && !this.stalled && track.samples >= 16_000) {
      this.tick = setTimeout(() => this.onTick(), this.delay(this.sh.timing.partialEveryMs));
    }
  }

  onWindow(s: number): void {
    const voiced = this.track.windowEnergy(s) >= ONSET_ENERGY;
    const u = this.utt;
    if (u === undefined) {
      if (voiced) this.utt = { onset: s, lastVoiced: s, kind: 'undecided' };
      return;
    }
    if (voiced) u.lastVoiced = s;
    else if (u.kind === 'undecided' && s - u.lastVoiced === CLICK_GAP_SUBS && u.lastVoiced - u.onset < CLICK_MAX_SUBS) {
      this.utt = undefined; // a click, not speech
    } else if (s - u.lastVoiced >= this.sh.timing.endSilenceSubs) {
      this.utt = undefined;
      const t = setTimeout(() => {
        this.finalizers.delete(u);
        this.finalize(u);
      }, this.delay(this.sh.timing.finalizeDelayMs));
      this.finalizers.set(u, t);
    }
  }

  /** Decide what the utterance is: a clip (continuing a clip run, or a new match), or placeholder. */
  decide(u: Utterance, ended: boolean): void {
    if (u.kind !== 'undecided') return;
    const run = this.run;
    if (run !== undefined && u.onset < run.endSub + SILENCE_GAP_FOR_MATCH_SUBS && run.next < run.tokens.length) {
      u.kind = 'clip';
      u.run = run;
      return;
    }
    const track = this.track;
    const avail = Math.floor((track.length - u.onset - FRAME_SUBS) / FRAME_SUBS);
    const from = Math.max(track.first, u.onset - MAX_SHIFT_SUBS);
    const win = new Float32Array(track.length - from);
    for (let i = 0; i < win.length; i++) win[i] = track.windowDb(from + i);
    let best: { i: number; distance: number; shift: number } | undefined;
    const clips = this.sh.book.clips;
    const minFrames = (0.6 * SUBS_PER_SECOND) / FRAME_SUBS;
    for (let i = 0; i < clips.length; i++) {
      const clip = clips[i]!;
      const n = clip.frames.length;
      if (avail < Math.min(minFrames, n * 0.85)) continue;
      const d = distanceAt(clip.frames, win, u.onset - from, Math.min(avail, n));
      if (d.distance <= this.sh.book.threshold && (best === undefined || d.distance < best.distance)) best = { i, ...d };
    }
    if (best !== undefined) {
      const clip = clips[best.i]!;
      const out = clipOutput(clip, { task: this.task, ...(this.language !== null ? { language: this.language } : {}) });
      const start = u.onset + best.shift;
      this.run = { start, endSub: start + Math.round((clip.speechMs * SUBS_PER_SECOND) / 1000), tokens: out.tokens, unspaced: out.unspaced, next: 0 };
      if (this.language === null) this.detected = out.language;
      u.kind = 'clip';
      u.run = this.run;
      return;
    }
    if (ended || track.length - u.onset >= MAX_UNDECIDED_SUBS) {
      u.kind = 'placeholder';
      this.run = undefined;
    }
  }

  /** Text of the utterance: words heard so far (partial) or all of them (final). */
  textOf(u: Utterance, final: boolean, speechEnd: number): string {
    if (u.kind === 'clip' && u.run !== undefined) {
      const run = u.run;
      const heardSec = ((final ? speechEnd : this.track.length) - run.start) / SUBS_PER_SECOND;
      const all = final && speechEnd >= run.endSub - 0.3 * SUBS_PER_SECOND;
      let k = run.next;
      while (k < run.tokens.length && (all || (run.tokens[k] as ClipToken).end <= heardSec + 0.04)) k++;
      const text = joinTokens(run.tokens.slice(run.next, k).map((t) => t.text), run.unspaced);
      if (final) run.next = k;
      return text;
    }
    if (u.kind === 'placeholder' || final) {
      const sec = (speechEnd - u.onset) / SUBS_PER_SECOND;
      return joinTokens(placeholderTokens(sec, final).map((t) => t.text), false);
    }
    return '';
  }

  maybeSendLanguage(): void {
    if (this.languageSent || this.language !== null) return;
    this.languageSent = true;
    const lang = this.detected ?? 'en';
    this.send({ uid: this.uid, language: lang, language_prob: Math.round(pseudoProb(`${this.uid}`, 0.88, 0.995) * 1e6) / 1e6 });
    this.language = lang; // detection happens once, then the language is fixed
  }

  sendSegments(partial: WhisperLiveSegment | undefined): void {
    const n = this.sendLastN;
    const from = Math.max(0, this.transcript.length - n);
    const segs = this.transcript.slice(from);
    const parts = this.transcriptJson.slice(from);
    if (partial) {
      segs.push(partial);
      parts.push(pyJson(partial));
    }
    if (segs.length === 0) return;
    this.maybeSendLanguage();
    // {"uid": ..., "segments": [...]} as json.dumps writes it; completed segments are serialised once.
    this.uidJson ??= pyJson(this.uid);
    if (this.ws.open) this.ws.sendText(`{"uid": ${this.uidJson}, "segments": [${parts.join(', ')}]}`);
    this.segmentsSent++;
    this.sh.stats.segmentsMessages++;
    if (this.record) this.record.segmentsMessages = this.segmentsSent;
    if (this.sh.events.listenerCount('segments') > 0) this.sh.events.emit('segments', { id: this.id, uid: this.uid as string, segments: segs });
    const f = this.fault;
    if (f !== undefined && f.kind !== 'model_load_error' && f.kind !== 'server_full' && this.segmentsSent >= (f.afterSegments ?? 1)) {
      if (f.kind === 'stall') {
        this.stalled = true;
        if (this.tick) clearTimeout(this.tick);
        this.tick = undefined;
      } else if (f.kind === 'drop') {
        this.closedReason = 'fault_drop';
        if (this.record) this.record.closedReason = 'fault_drop';
        this.cleanup();
        this.ws.terminate();
      } else {
        this.send({ uid: this.uid, message: 'DISCONNECT' });
        this.end('fault_disconnect');
      }
    }
  }

  onTick(): void {
    this.tick = undefined;
    if (this.state !== 'ready' || this.stalled) return;
    const hadAudio = this.audioSinceTick;
    this.audioSinceTick = false;
    const u = this.utt;
    if (u !== undefined) {
      // Whisper transcribes the whole buffer since the last completed segment: an utterance that
      // ended and still waits for its finalize delay comes out before this one, so it is no longer
      // the last segment and the server completes it now (all but the last are).
      const completed = this.completeEnded();
      this.decide(u, false);
      const text = this.textOf(u, false, u.lastVoiced + FRAME_SUBS);
      if (text === '' && completed) this.sendSegments(undefined);
      if (text !== '' && (hadAudio || text !== this.lastPartial)) {
        this.lastPartial = text;
        this.sendSegments({ start: fmt3(u.onset / SUBS_PER_SECOND), end: fmt3((u.lastVoiced + FRAME_SUBS) / SUBS_PER_SECOND), text, completed: false });
      }
    }
    if (hadAudio && this.state === 'ready' && !this.stalled) this.tick = setTimeout(() => this.onTick(), this.delay(this.sh.timing.partialEveryMs));
  }

  /** Completes every ended utterance still waiting for its finalize delay, without sending. */
  completeEnded(): boolean {
    const n = this.transcript.length;
    for (const [u, t] of this.finalizers) {
      clearTimeout(t);
      this.finalizers.delete(u);
      this.finalize(u, false);
    }
    return this.transcript.length > n;
  }

  /** The utterance's completed segment, sent in a window unless `send` is false (the caller sends). */
  finalize(u: Utterance, send = true): void {
    if (this.state !== 'ready' || this.stalled) return;
    this.decide(u, true);
    const end = u.lastVoiced + FRAME_SUBS;
    const text = this.textOf(u, true, end);
    this.lastPartial = '';
    if (text === '') return;
    const seg: WhisperLiveSegment = { start: fmt3(u.onset / SUBS_PER_SECOND), end: fmt3(end / SUBS_PER_SECOND), text, completed: true };
    this.transcript.push(seg);
    this.transcriptJson.push(pyJson(seg));
    if (this.transcript.length > 500) {
      // MAX_TRANSCRIPT_LENGTH
      this.transcript.splice(0, this.transcript.length - 500);
      this.transcriptJson.splice(0, this.transcriptJson.length - 500);
    }
    if (send) this.sendSegments(undefined);
  }
}

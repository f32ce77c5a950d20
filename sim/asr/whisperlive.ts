// Simulated WhisperLive server (collabora/WhisperLive, faster_whisper backend), speaking its exact
// WebSocket protocol (shared/reference/backend-protocols.md §5): a JSON options frame, SERVER_READY
// after the model loads, float32 audio frames, `segments` windows of completed segments plus the
// partial in progress, a binary END_OF_AUDIO that ends the session, WAIT when full, ERROR when the
// model fails to load, DISCONNECT after max_connection_time. SIMULATED: no model runs; the words come
// from the clip book (registered clips) or are placeholders sized to the speech.
//
// Built to be cheap per audio frame (a benchmark drives 1000 connections × 50 frames/s): each frame
// only adds sample energies into 5 ms sub-frames and advances a speech/silence state machine; clip
// matching runs at partial ticks while an utterance is undecided; nothing re-scans the audio, and no
// audio is kept (45 s of sub-frame energies at most, trimmed like the real 45 s buffer).
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { fnv1a, mulberry32, type Rand } from '../random.ts';
import { readBody } from '../tgi/http.ts';
import { CLICK_GAP_SUBS, CLICK_MAX_SUBS, clipOutput, joinTokens, loadClipBook, placeholderTokens, pseudoProb, type ClipBook, type ClipToken } from './clip-book.ts';
import { distanceAt, EnergyTrack, FRAME_SUBS, MAX_SHIFT_SUBS, ONSET_ENERGY, SUBS_PER_SECOND } from './fingerprint.ts';
import { pyJson } from './pyjson.ts';

export const END_OF_AUDIO = Buffer.from('END_OF_AUDIO');
export const WHISPERLIVE_ADMIN_PATH = '/__sim/faults';

export const WHISPERLIVE_FAULT_KINDS = [
  'model_load_error', // {"status":"ERROR","message":"Failed to load model: <model>"} instead of SERVER_READY, then close
  'drop', // after k segments messages the TCP connection is destroyed (no close frame: the client sees 1006)
  'stall', // after k segments messages nothing more is sent; audio is still read; the socket stays open
  'disconnect', // after k segments messages {"message":"DISCONNECT"} then close (as after max_connection_time)
  'server_full', // {"status":"WAIT","message":<minutes>} then close, whatever the client count
] as const;
export type WhisperLiveFaultKind = (typeof WHISPERLIVE_FAULT_KINDS)[number];

export interface WhisperLiveFault {
  kind: WhisperLiveFaultKind;
  /** Segments messages sent before drop/stall/disconnect fires (default 1). */
  afterSegments?: number;
}

export interface WhisperLiveSimOptions {
  host?: string;
  /** Default 0 (ephemeral); the real server's default is 9090. */
  port?: number;
  /** Clients served at once before WAIT (real default 4 in run_server.py; the sim's default 1024
   *  lets a benchmark open many sessions — pass 4 to reproduce the real limit). */
  maxClients?: number;
  /** Seconds a client may stay connected before DISCONNECT (run_server.py default 300). */
  maxConnectionTimeS?: number;
  /** Delay from the options frame to SERVER_READY (model load), ms (default 500). */
  modelLoadMs?: number;
  /** Interval between transcriptions once ≥ 1 s of audio is in, ms (default 400; one faster_whisper
   *  pass on a GPU plus the loop's sleeps). */
  partialEveryMs?: number;
  /** Trailing silence after speech that completes a segment, ms (default 500). */
  endSilenceMs?: number;
  /** Extra delay before the completed segment is sent (the final decode), ms (default 250). */
  finalizeDelayMs?: number;
  /** Uniform jitter fraction on every delay (default 0.2; 0 = exact). */
  jitter?: number;
  /** `backend` of SERVER_READY (default faster_whisper). */
  backend?: 'faster_whisper' | 'tensorrt' | 'openvino';
  /** When set, connections need `Authorization: Bearer <key>` or `?token=<key>` (WhisperLive HEAD). */
  apiKey?: string;
  /** A fault applied to every connection (the admin queue wins when it has one). */
  fault?: WhisperLiveFault;
  clipBook?: ClipBook;
  /** Seed of the jitter (mixed with each uid). */
  seed?: number;
}

export interface WhisperLiveConnectionEvent {
  id: number;
  uid: string;
  options: Record<string, unknown>;
  fault: WhisperLiveFaultKind | null;
  atMs: number;
}

export interface WhisperLiveAudioEvent {
  id: number;
  uid: string;
  /** Frames and bytes of this connection so far (this frame included). */
  frames: number;
  bytes: number;
}

export interface WhisperLiveSegmentsEvent {
  id: number;
  uid: string;
  segments: WhisperLiveSegment[];
}

export type WhisperLiveCloseReason =
  | 'client_closed' // the client closed or vanished
  | 'end_of_audio' // binary END_OF_AUDIO
  | 'invalid_options' // bad JSON or a missing required key: silent close
  | 'server_full' // WAIT sent
  | 'model_load_error' // ERROR sent
  | 'protocol_error' // a text frame or a frame that is not whole float32 samples
  | 'connection_time_exceeded' // DISCONNECT sent
  | 'fault_drop'
  | 'fault_disconnect'
  | 'server_closed';

export interface WhisperLiveClosedEvent {
  id: number;
  uid: string | null;
  reason: WhisperLiveCloseReason;
  /** performance.now() when the socket closed. */
  atMs: number;
  frames: number;
  bytes: number;
}

export interface WhisperLiveSimEvents {
  connection: [WhisperLiveConnectionEvent];
  ready: [{ id: number; uid: string }];
  /** One per audio frame; only emitted while someone listens (no cost otherwise). */
  audio: [WhisperLiveAudioEvent];
  /** One per segments message; only emitted while someone listens. */
  segments: [WhisperLiveSegmentsEvent];
  closed: [WhisperLiveClosedEvent];
}

export interface WhisperLiveSegment {
  start: string;
  end: string;
  text: string;
  completed: boolean;
}

export interface WhisperLiveStats {
  /** WebSocket connections accepted since start. */
  connections: number;
  /** Sockets open now. */
  open: number;
  /** Clients past SERVER_READY and still connected. */
  clients: number;
  frames: number;
  bytes: number;
  segmentsMessages: number;
  endOfAudio: number;
  rejectedFull: number;
}

export interface WhisperLiveClientStats {
  id: number;
  frames: number;
  bytes: number;
  open: boolean;
  closedReason: WhisperLiveCloseReason | null;
  segmentsMessages: number;
}

export interface WhisperLiveSim {
  /** ws://host:port (any path is accepted, as by the real server). */
  url: string;
  port: number;
  events: EventEmitter<WhisperLiveSimEvents>;
  stats(): WhisperLiveStats;
  /** Counters of the latest connection with this uid. */
  client(uid: string): WhisperLiveClientStats | undefined;
  /** Queue a fault for the next `count` connections (what POST /__sim/faults does). */
  queueFault(fault: WhisperLiveFault, count?: number): void;
  clearFaults(): number;
  close(): Promise<void>;
}

interface Timing {
  modelLoadMs: number;
  partialEveryMs: number;
  endSilenceSubs: number;
  finalizeDelayMs: number;
  jitter: number;
  maxConnectionTimeS: number;
}

interface Shared {
  timing: Timing;
  book: ClipBook;
  events: EventEmitter<WhisperLiveSimEvents>;
  stats: WhisperLiveStats;
  byUid: Map<string, WhisperLiveClientStats>;
  clients: Set<Conn>;
  conns: Set<Conn>;
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

class Conn {
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
  finalizers = new Set<NodeJS.Timeout>();
  loadTimer: NodeJS.Timeout | undefined;
  audioSinceTick = false;
  lastPartial = '';
  languageSent = false;
  /** Language of the first matched clip (reported when the client sent language null). */
  detected: string | undefined;
  pending: Buffer[] = []; // audio that arrived while the model was loading (the real server reads it later)
  closedReason: WhisperLiveCloseReason | null = null;
  record: WhisperLiveClientStats | undefined;
  scratch = new Float32Array(0);

  constructor(
    readonly id: number,
    readonly ws: WebSocket,
    readonly sh: Shared,
  ) {}

  delay(ms: number): number {
    const j = this.sh.timing.jitter;
    return j === 0 ? ms : ms * (1 + (this.rand() * 2 - 1) * j);
  }

  send(obj: unknown): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(pyJson(obj));
  }

  /** Close with 1000 like the Python server when its handler returns. */
  end(reason: WhisperLiveCloseReason): void {
    if (this.closedReason === null) this.closedReason = reason;
    if (this.record && this.record.closedReason === null) this.record.closedReason = this.closedReason;
    this.cleanup();
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) this.ws.close(1000);
  }

  cleanup(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    if (this.tick) clearTimeout(this.tick);
    if (this.loadTimer) clearTimeout(this.loadTimer);
    for (const t of this.finalizers) clearTimeout(t);
    this.finalizers.clear();
    this.tick = undefined;
    this.sh.clients.delete(this);
    this.pending = [];
  }

  onMessage(data: RawData, isBinary: boolean): void {
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    if (this.state === 'options') return this.onOptions(buf);
    if (this.state === 'closed') return;
    if (!isBinary) return this.end('protocol_error'); // np.frombuffer(str) raises: the server closes
    if (this.state === 'loading') {
      this.pending.push(buf);
      return;
    }
    this.onAudio(buf);
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
    this.sh.events.emit('connection', { id: this.id, uid: this.uid, options: o, fault: fault?.kind ?? null, atMs: performance.now() });
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

  samplesOf(buf: Buffer): Float32Array | Int16Array | null {
    if (this.format === 'float32') {
      if (buf.length % 4 !== 0) return null;
      if (buf.byteOffset % 4 === 0) return new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4);
      if (this.scratch.length < buf.length / 4) this.scratch = new Float32Array(buf.length / 4);
      new Uint8Array(this.scratch.buffer, 0, buf.length).set(buf);
      return this.scratch.subarray(0, buf.length / 4);
    }
    if (this.format === 'int16') {
      if (buf.length % 2 !== 0) return null;
      if (buf.byteOffset % 2 === 0) return new Int16Array(buf.buffer, buf.byteOffset, buf.length / 2);
      return new Int16Array(new Uint8Array(buf).buffer);
    }
    const f = new Float32Array(buf.length);
    for (let i = 0; i < buf.length; i++) f[i] = ((buf[i] as number) - 128) / 128;
    return f;
  }

  onAudio(buf: Buffer): void {
    if (buf.length === END_OF_AUDIO.length && buf.equals(END_OF_AUDIO)) {
      this.sh.stats.endOfAudio++;
      return this.end('end_of_audio'); // nothing is sent back; buffered audio is not flushed
    }
    // is_client_timeout runs before each receive (checked every 16th frame here: cheaper, same effect).
    if ((this.frames & 15) === 0 && (performance.now() - this.startedAt) / 1000 >= this.sh.timing.maxConnectionTimeS) {
      this.send({ uid: this.uid, message: 'DISCONNECT' });
      return this.end('connection_time_exceeded');
    }
    const samples = this.samplesOf(buf);
    if (samples === null) return this.end('protocol_error'); // np.frombuffer: buffer size must be a multiple of element size
    this.frames++;
    this.bytes += buf.length;
    const st = this.sh.stats;
    st.frames++;
    st.bytes += buf.length;
    const rec = this.record as WhisperLiveClientStats;
    rec.frames = this.frames;
    rec.bytes = this.bytes;
    if (this.sh.events.listenerCount('audio') > 0) this.sh.events.emit('audio', { id: this.id, uid: this.uid as string, frames: this.frames, bytes: this.bytes });
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
        this.finalizers.delete(t);
        this.finalize(u);
      }, this.delay(this.sh.timing.finalizeDelayMs));
      this.finalizers.add(t);
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
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(`{"uid": ${this.uidJson}, "segments": [${parts.join(', ')}]}`);
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
      this.decide(u, false);
      const text = this.textOf(u, false, u.lastVoiced + FRAME_SUBS);
      if (text !== '' && (hadAudio || text !== this.lastPartial)) {
        this.lastPartial = text;
        this.sendSegments({ start: fmt3(u.onset / SUBS_PER_SECOND), end: fmt3((u.lastVoiced + FRAME_SUBS) / SUBS_PER_SECOND), text, completed: false });
      }
    }
    if (hadAudio && this.state === 'ready' && !this.stalled) this.tick = setTimeout(() => this.onTick(), this.delay(this.sh.timing.partialEveryMs));
  }

  finalize(u: Utterance): void {
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
    this.sendSegments(undefined);
  }
}

function sendPlain(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

function isFaultKind(v: unknown): v is WhisperLiveFaultKind {
  return typeof v === 'string' && (WHISPERLIVE_FAULT_KINDS as readonly string[]).includes(v);
}

async function admin(sh: Shared, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const json = (status: number, body: unknown): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  const list = (): unknown => sh.queue.map((q) => ({ kind: q.fault.kind, remaining: q.remaining, afterSegments: q.fault.afterSegments ?? 1 }));
  if (req.method === 'GET') return json(200, { queued: list() });
  if (req.method === 'DELETE') {
    const n = sh.queue.reduce((a, q) => a + q.remaining, 0);
    sh.queue.length = 0;
    return json(200, { cleared: n });
  }
  if (req.method !== 'POST') return sendPlain(res, 405, 'Method Not Allowed\n', { allow: 'GET,POST,DELETE' });
  const body = await readBody(req, 65_536);
  let parsed: unknown;
  try {
    parsed = JSON.parse((body ?? Buffer.alloc(0)).toString('utf8'));
  } catch {
    return json(400, { error: 'body must be JSON: {"kind": "...", "count": 1, "afterSegments": 1}', kinds: WHISPERLIVE_FAULT_KINDS });
  }
  const { kind, count, afterSegments } = (parsed ?? {}) as { kind?: unknown; count?: unknown; afterSegments?: unknown };
  if (!isFaultKind(kind)) return json(400, { error: `unknown fault kind ${JSON.stringify(kind)}`, kinds: WHISPERLIVE_FAULT_KINDS });
  const n = count ?? 1;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) return json(400, { error: '`count` must be a positive integer' });
  if (afterSegments !== undefined && (typeof afterSegments !== 'number' || !Number.isInteger(afterSegments) || afterSegments < 0)) {
    return json(400, { error: '`afterSegments` must be a non-negative integer' });
  }
  sh.queue.push({ fault: afterSegments === undefined ? { kind } : { kind, afterSegments }, remaining: n });
  return json(200, { queued: list() });
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
    maxClients: Math.max(0, Math.floor(pick(opts.maxClients, 1024))),
    backend: opts.backend ?? 'faster_whisper',
    seed: opts.seed ?? 1,
    defaultFault: opts.fault,
    queue: [],
  };
  let nextId = 0;
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path === WHISPERLIVE_ADMIN_PATH) {
      admin(sh, req, res).catch(() => res.destroy());
      return;
    }
    sendPlain(res, 426, NOT_WEBSOCKET, { upgrade: 'websocket', connection: 'Upgrade' });
  });
  // python-websockets defaults: max_size 1 MiB, no compression negotiated by the Python client.
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1 << 20, perMessageDeflate: false });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    if (opts.apiKey !== undefined) {
      const url = new URL(req.url ?? '/', 'http://x');
      const auth = req.headers.authorization ?? '';
      if (auth !== `Bearer ${opts.apiKey}` && url.searchParams.get('token') !== opts.apiKey) {
        socket.end('HTTP/1.1 401 Unauthorized\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: 13\r\nconnection: close\r\n\r\nUnauthorized\n');
        return;
      }
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const conn = new Conn(++nextId, ws, sh);
      sh.conns.add(conn);
      sh.stats.connections++;
      sh.stats.open++;
      ws.on('message', (data, isBinary) => conn.onMessage(data, isBinary));
      ws.on('error', () => undefined);
      ws.once('close', () => {
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
      });
    });
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port: opts.port ?? 0, backlog: 2048 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
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
      closing ??= new Promise<void>((resolve) => {
        for (const c of sh.conns) {
          if (c.closedReason === null) c.closedReason = 'server_closed';
          c.cleanup();
          c.ws.terminate();
        }
        wss.close();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

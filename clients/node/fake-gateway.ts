// Test double of the gateway for the SDK and CLI tests: a ws server on 127.0.0.1:0 speaking vlp.v1
// through the real server codec, answering hello/turn.start/turn.cancel/ping, voice input
// (audio.start/chunk/end) and watches (watch.start/watch.stop) from a fixed script.
import { WebSocketServer, type WebSocket } from 'ws';
import { createServerCodec, type ServerCodec } from '../../protocol/codec.ts';
import type { AudioStartMsg, ClientMessage, ServerMessage, ServerPayload, Subprotocol, TurnStartMsg, WatchStartMsg } from '../../protocol/messages.ts';

/** Watches a session may run at once (the gateway's segmenter.watchesPerSession default). */
const MAX_WATCHES = 2;

/** The answer to every ordinary turn.start, one token per gen.token frame. */
export const TOKENS = ['The', ' capital', ' of', ' France', ' is', ' Paris', '.'];

/**
 * Special turn.start texts: ERROR → turn-scoped error; FATAL → fatal error without a turn, then close;
 * SLOW → a token every 20 ms (up to 200); MANY:<n> → n tokens at once; GAP → a seq jump mid-turn;
 * DROP → 2 tokens sent, 3 more and gen.done only logged (lost), then the socket is dropped.
 * SEGMENT → a segment turn: detect.boxes and one mask.frame for a 4x3 image, answer in gen.done.
 * Special hello.client values: reject → fatal SERVER_AT_CAPACITY; close → close before ready.
 *
 * Voice (gw.voice): audio.start opens a stream (AUDIO_FORMAT_UNSUPPORTED for a rate or channel
 * count the real gateway refuses; AUDIO_ASR_UNAVAILABLE when `asrUnavailable`); the first chunk
 * gives vad speech_start; every `partialEvery` chunks an asr.partial with one more word of the
 * first utterance; audio.end gives vad speech_end, then each utterance of `utterances` in order
 * (later ones with their own speech_start/speech_end): asr.final with turn v1, v2... and a turn
 * run like a turn.start with that text (special texts included). A turn still running when the
 * next utterance ends is cancelled as superseded. An empty utterance sends no asr.final.
 *
 * Watches: watch.start at once sends one watch.event `enter` for its first label on the latest
 * image.put id ("none" before any), with one box in a [3, 4] frame; a label containing "unicorn" is
 * never seen. With `ask`, the event names turn w1, w2... run like a turn.start with the ask text
 * ({label} replaced; special texts included), or says turn_skipped "busy" while a turn runs.
 * A third watch id running at once gets INPUT_WATCH_LIMIT (the gateway's default bound); watch.stop
 * of an id not started (or already stopped) gets INPUT_WATCH_NOT_FOUND.
 */
export interface FakeVoice {
  utterances: string[];
  partialEvery: number;
  /** Only vad events: no partials, no final. */
  silent: boolean;
  asrUnavailable: boolean;
}
interface Session {
  id: string;
  token: string;
  seq: number;
  /** Every frame stamped for this session, for replay on resume. */
  log: ServerMessage[];
}

export interface FakeGateway {
  url: string;
  /** Client messages received, in order, across connections. */
  received: ClientMessage[];
  /** Subprotocol negotiated per connection, in order. */
  subprotocols: Subprotocol[];
  /** The Authorization header of each accepted upgrade, in order (undefined: none sent). */
  authorizations: (string | undefined)[];
  /** When set, upgrades without `Authorization: Bearer <requireKey>` are refused with 401. */
  requireKey: string | undefined;
  /** Whether each received frame was binary, in order. */
  binaryFrames: boolean[];
  /** Voice script; tests may change it before the audio starts. */
  voice: FakeVoice;
  /** performance.now() at which each audio.chunk arrived. */
  audioChunkTimes: number[];
  close(): Promise<void>;
}

const ready = (s: Session, resumed: boolean): ServerPayload => ({
  t: 'ready',
  session_id: s.id,
  resume_token: s.token,
  resumed,
  protocol: 1,
  models: [{ id: 'llama-2-7b-chat', kind: 'llm' }],
  limits: {
    max_frame_bytes: 8 << 20,
    max_text_chars: 16_384,
    max_audio_chunk_bytes: 65_536,
    max_image_bytes: 6 << 20,
    resume_window_ms: 30_000,
    replay_frames: 4_096,
  },
});

export async function startFakeGateway(): Promise<FakeGateway> {
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    handleProtocols: (offered) => [...offered].find((p) => p === 'vlp.v1.msgpack' || p === 'vlp.v1.json') ?? false,
    verifyClient: (info, done) => {
      const key = gw.requireKey;
      if (key === undefined || info.req.headers.authorization === `Bearer ${key}`) done(true);
      else done(false, 401, 'Unauthorized', { 'WWW-Authenticate': 'Bearer realm="fake"' });
    },
  });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const sessions = new Map<string, Session>();
  const gw: FakeGateway = {
    url: '',
    received: [],
    subprotocols: [],
    authorizations: [],
    requireKey: undefined,
    binaryFrames: [],
    voice: { utterances: ['What is the capital of France?'], partialEvery: 5, silent: false, asrUnavailable: false },
    audioChunkTimes: [],
    close: () =>
      new Promise<void>((r) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => r());
      }),
  };
  const addr = wss.address();
  if (addr === null || typeof addr === 'string') throw new Error('expected a TCP address');
  gw.url = `ws://127.0.0.1:${addr.port}/v1/ws`;

  wss.on('connection', (ws, req) => {
    const sub = ws.protocol as Subprotocol;
    gw.subprotocols.push(sub);
    gw.authorizations.push(req.headers.authorization);
    new Connection(ws, createServerCodec(sub), sessions, gw).listen();
  });
  return gw;
}

class Connection {
  private session: Session | undefined;
  private timer: NodeJS.Timeout | undefined;
  private turn: string | undefined;
  private audio: { msg: AudioStartMsg; chunks: number; bytes: number } | undefined;
  private voiceTurns = 0;
  private watchTurns = 0;
  /** Watch ids started and not stopped. */
  private readonly watches = new Set<string>();
  private latestImage = 'none';

  constructor(
    private readonly ws: WebSocket,
    private readonly codec: ServerCodec,
    private readonly sessions: Map<string, Session>,
    private readonly gw: FakeGateway,
  ) {}

  listen(): void {
    this.ws.on('message', (data: Buffer, isBinary) => {
      this.gw.binaryFrames.push(isBinary);
      const r = this.codec.decode(data, isBinary);
      if (!r.ok) {
        this.emit({ t: 'error', code: r.code, message: r.message, retryable: false, fatal: false, ...(r.ref !== undefined && { ref: r.ref }) });
        return;
      }
      this.gw.received.push(r.msg);
      this.handle(r.msg);
    });
    this.ws.on('close', () => clearInterval(this.timer));
  }

  /** Stamp, log and (unless `lost`) send one frame. */
  private emit(p: ServerPayload, lost = false): void {
    const s = this.session ?? { id: '-', token: '-', seq: 0, log: [] };
    s.seq += 1;
    const msg = { ...p, seq: s.seq } as ServerMessage;
    s.log.push(msg);
    if (!lost) this.ws.send(this.codec.encode(msg));
  }

  private handle(msg: ClientMessage): void {
    switch (msg.t) {
      case 'hello':
        return this.hello(msg.client, msg.resume);
      case 'turn.start':
        return this.start(msg);
      case 'turn.cancel':
        if (this.turn === undefined || (msg.id !== undefined && msg.id !== this.turn)) {
          this.emit({ t: 'error', code: 'TURN_NOT_FOUND', message: 'no such turn', retryable: false, fatal: false, ref: 'turn.cancel' });
          return;
        }
        clearInterval(this.timer);
        this.emit({ t: 'turn.cancelled', turn: this.turn, reason: 'client' });
        this.turn = undefined;
        return;
      case 'ping':
        return this.emit({ t: 'pong', ts: msg.ts });
      case 'audio.start':
        return this.audioStart(msg);
      case 'audio.chunk':
        return this.audioChunk(msg.data);
      case 'audio.end':
        return this.audioEnd();
      case 'image.put':
        this.latestImage = msg.id;
        return;
      case 'watch.start':
        return this.watchStart(msg);
      case 'watch.stop':
        if (!this.watches.delete(msg.id)) {
          this.emit({ t: 'error', code: 'INPUT_WATCH_NOT_FOUND', message: 'watch.stop names no running watch', retryable: false, fatal: false, ref: 'watch.stop' });
        }
        return;
      default:
        return;
    }
  }

  private hello(client: string | undefined, resume: { session_id: string; token: string; last_seq: number } | undefined): void {
    if (client === 'close') {
      this.ws.close(4000, 'go away');
      return;
    }
    if (client === 'reject') {
      this.emit({ t: 'error', code: 'SERVER_AT_CAPACITY', message: 'too many sessions', retryable: true, fatal: true, ref: 'hello' });
      this.ws.close(1008, 'at capacity');
      return;
    }
    if (resume !== undefined) {
      const s = this.sessions.get(resume.session_id);
      if (s === undefined || s.token !== resume.token) {
        this.emit({ t: 'error', code: 'SESSION_RESUME_FAILED', message: 'unknown session', retryable: false, fatal: true, ref: 'hello' });
        this.ws.close(4001, 'resume failed');
        return;
      }
      this.session = s;
      const replay = s.log.filter((m) => m.seq > resume.last_seq);
      this.emit(ready(s, true)); // stamped after the frames it precedes, as a real outbox may do
      for (const m of replay) this.ws.send(this.codec.encode(m));
      return;
    }
    const n = this.sessions.size + 1;
    this.session = { id: `s${n}`, token: `tok-${n}`, seq: 0, log: [] };
    this.sessions.set(this.session.id, this.session);
    this.emit(ready(this.session, false));
  }

  private audioStart(msg: AudioStartMsg): void {
    if (this.audio !== undefined) this.audioEnd();
    const f = msg.format;
    const rates = f.encoding === 'mulaw' ? [8_000] : f.encoding === 'pcm16' || f.encoding === 'f32' ? [8_000, 16_000, 24_000, 48_000] : [48_000];
    if (f.channels !== 1 || !rates.includes(f.sample_rate)) {
      this.emit({ t: 'error', code: 'AUDIO_FORMAT_UNSUPPORTED', message: 'unsupported audio format', retryable: false, fatal: false, ref: 'audio.start' });
      return;
    }
    if (this.gw.voice.asrUnavailable) {
      this.emit({ t: 'error', code: 'AUDIO_ASR_UNAVAILABLE', message: 'no speech recognizer', retryable: false, fatal: false, ref: 'audio.start' });
      return;
    }
    this.audio = { msg, chunks: 0, bytes: 0 };
  }

  private audioChunk(data: Uint8Array): void {
    this.gw.audioChunkTimes.push(performance.now());
    const a = this.audio;
    if (a === undefined) {
      this.emit({ t: 'error', code: 'AUDIO_FORMAT_MISSING', message: 'no audio stream', retryable: false, fatal: false, ref: 'audio.chunk' });
      return;
    }
    a.chunks += 1;
    a.bytes += data.length;
    const v = this.gw.voice;
    if (a.chunks === 1) this.emit({ t: 'vad', event: 'speech_start', at_ms: 0 });
    if (!v.silent && a.chunks % v.partialEvery === 0) {
      const words = (v.utterances[0] ?? '').split(' ').filter((w) => w !== '');
      const n = Math.min(words.length, a.chunks / v.partialEvery);
      if (n > 0) this.emit({ t: 'asr.partial', stable: words.slice(0, n - 1).join(' '), unstable: `${n > 1 ? ' ' : ''}${words[n - 1]}` });
    }
  }

  private audioEnd(): void {
    const a = this.audio;
    if (a === undefined) return;
    this.audio = undefined;
    const v = this.gw.voice;
    const perMs = a.msg.format.encoding === 'f32' ? 4 * (a.msg.format.sample_rate / 1000) : a.msg.format.encoding === 'mulaw' ? 8 : 2 * (a.msg.format.sample_rate / 1000);
    const endMs = Math.round(a.bytes / perMs);
    if (a.chunks > 0) this.emit({ t: 'vad', event: 'speech_end', at_ms: endMs });
    if (v.silent) return;
    v.utterances.forEach((text, i) => {
      if (i > 0) {
        this.emit({ t: 'vad', event: 'speech_start', at_ms: endMs });
        this.emit({ t: 'vad', event: 'speech_end', at_ms: endMs });
      }
      if (text === '') return;
      this.voiceTurns += 1;
      const id = `v${this.voiceTurns}`;
      this.emit({ t: 'asr.final', text, language: a.msg.language ?? 'en', turn: id });
      if (this.turn !== undefined) {
        clearInterval(this.timer);
        this.emit({ t: 'turn.cancelled', turn: this.turn, reason: 'superseded' });
        this.turn = undefined;
      }
      this.start({ t: 'turn.start', id, text });
    });
  }

  private watchStart(msg: WatchStartMsg): void {
    if (!this.watches.has(msg.id) && this.watches.size >= MAX_WATCHES) {
      this.emit({ t: 'error', code: 'INPUT_WATCH_LIMIT', message: `this session already runs ${MAX_WATCHES} watches`, retryable: false, fatal: false, ref: 'watch.start' });
      return;
    }
    this.watches.add(msg.id);
    const label = msg.labels[0]?.trim().toLowerCase() ?? '';
    if (label.includes('unicorn')) return;
    const event: Extract<ServerPayload, { t: 'watch.event' }> = {
      t: 'watch.event',
      watch: msg.id,
      kind: 'enter',
      label,
      count: 1,
      image: this.latestImage,
      size: [3, 4],
      boxes: [{ id: 0, label, score: 0.9, box: [0, 0, 2, 2] }],
    };
    if (msg.ask === undefined) return this.emit(event);
    if (this.turn !== undefined) return this.emit({ ...event, turn_skipped: 'busy' });
    this.watchTurns += 1;
    const id = `w${this.watchTurns}`;
    this.emit({ ...event, turn: id });
    this.start({ t: 'turn.start', id, text: msg.ask.replaceAll('{label}', label), image: this.latestImage });
  }

  private start(msg: TurnStartMsg): void {
    const id = msg.id;
    if (msg.text === 'SEGMENT') {
      this.emit({ t: 'turn.started', turn: id, kind: 'segment', model: 'grounded-sam' });
      this.emit({ t: 'detect.boxes', turn: id, image: msg.image ?? 'cli-image', size: [3, 4], boxes: [{ id: 0, label: 'dog', score: 0.9, box: [0, 0, 2, 2] }] });
      this.emit({ t: 'mask.frame', turn: id, id: 0, label: 'dog', score: 0.9, rle: { size: [3, 4], counts: '264' } });
      this.emit({ t: 'gen.done', turn: id, finish: 'eos_token', tokens: 0, ttft_ms: -1, total_ms: 5, text: 'Found 1 dog.' });
      return;
    }
    if (msg.text === 'FATAL') {
      this.emit({ t: 'turn.started', turn: id, kind: 'chat', model: 'llama-2-7b-chat' });
      this.emit({ t: 'error', code: 'SERVER_SHUTTING_DOWN', message: 'shutting down', retryable: true, fatal: true });
      this.ws.close(1001, 'shutdown');
      return;
    }
    if (msg.text === 'ERROR') {
      this.emit({ t: 'error', code: 'UPSTREAM_OVERLOADED', message: 'model overloaded', retryable: true, fatal: false, turn: id, ref: 'turn.start' });
      return;
    }
    this.turn = id;
    this.emit({ t: 'turn.started', turn: id, kind: 'chat', model: msg.model ?? 'llama-2-7b-chat' });
    const many = /^MANY:(\d+)$/.exec(msg.text);
    const tokens = many ? Array.from({ length: Number(many[1]) }, (_, i) => `w${i} `) : TOKENS;
    const token = (i: number, lost = false): void =>
      this.emit({ t: 'gen.token', turn: id, i, n: 1, text: tokens[i % tokens.length] ?? '' }, lost);
    const done = (count: number, lost = false): void => {
      this.emit({ t: 'gen.done', turn: id, finish: 'eos_token', tokens: count, ttft_ms: 3, total_ms: 9, text: tokens.slice(0, count).join('') }, lost);
      this.emit({ t: 'turn.metrics', turn: id, marks: { first_token: 3, done: 9 }, counts: { tokens: count, boxes: 0, masks: 0, spec_committed: 0, spec_discarded: 0, retries: 0 } }, lost);
      this.turn = undefined;
    };
    if (msg.text === 'SLOW') {
      let i = 0;
      this.timer = setInterval(() => {
        token(i);
        i += 1;
        if (i >= 200) {
          clearInterval(this.timer);
          done(i);
        }
      }, 20);
      return;
    }
    if (msg.text === 'DROP') {
      for (let i = 0; i < 5; i++) token(i, i >= 2);
      done(5, true);
      setTimeout(() => this.ws.terminate(), 30); // let the sent frames reach the client first
      return;
    }
    for (let i = 0; i < tokens.length; i++) {
      if (msg.text === 'GAP' && i === 3 && this.session !== undefined) this.session.seq += 2;
      token(i);
    }
    done(tokens.length);
  }
}

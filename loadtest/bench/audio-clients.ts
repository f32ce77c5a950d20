// Load generator of the audio benchmark: N voice sessions (raw `ws` + the protocol codec), each
// streaming PCM16 16 kHz in 20 ms audio.chunk frames paced against the audio clock. One shared
// scheduler tick (every few ms) sends every session's due chunks — chunk k of a session is due at
// its start + 20·k ms, so timer drift never accumulates — and session starts are spread over one
// chunk period so the sends are not all in phase. Frames are encoded once, as whole WebSocket
// frames (header + zero masking key + msgpack), and shared by every session (each starts at its
// own offset in the loop): a chunk costs one write(2) on the session's socket and nothing else, so
// that one core can offer 1000 real-time sessions (the system call itself is most of that cost).
import WebSocket from 'ws';
import type { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { createClientCodec } from '../../protocol/codec.ts';
import type { ClientMessage, ServerMessage } from '../../protocol/messages.ts';
import { LinearHistogram } from './histogram.ts';
import { directWriter, socketFd, streamWriter, type ByteWriter } from '../../src/backends/asr/direct-write.ts';

export const CHUNK_MS = 20;
export const SAMPLES_PER_CHUNK = 320;

const wallNow = (): number => performance.timeOrigin + performance.now();

/** Encodes a 16 kHz PCM16 timeline as audio.chunk frames of 20 ms (the last one zero-padded). */
export function encodeChunks(pcm: Int16Array): Uint8Array[] {
  const codec = createClientCodec('vlp.v1.msgpack');
  const out: Uint8Array[] = [];
  for (let off = 0; off < pcm.length; off += SAMPLES_PER_CHUNK) {
    const c = new Int16Array(SAMPLES_PER_CHUNK);
    c.set(pcm.subarray(off, Math.min(pcm.length, off + SAMPLES_PER_CHUNK)));
    const frame = codec.encode({ t: 'audio.chunk', data: new Uint8Array(c.buffer) });
    if (typeof frame === 'string') throw new Error('msgpack codec returned text');
    out.push(frame.slice()); // encode() returns a view of the encoder's shared buffer
  }
  return out;
}

/**
 * One message as a whole client WebSocket frame (RFC 6455 §5.2): FIN + binary, MASK bit, length,
 * a masking key of zeros (clients must mask; with zeros the payload is sent as is, and the server
 * unmasks every frame the same way whatever the key), then the message.
 */
export function wsClientFrame(payload: Uint8Array): Buffer {
  const n = payload.length;
  const lenBytes = n < 126 ? 0 : n < 0x10000 ? 2 : 8;
  const head = 2 + lenBytes + 4;
  const out = Buffer.alloc(head + n); // zero-filled: the masking key stays 0
  out[0] = 0x82;
  if (lenBytes === 0) out[1] = 0x80 | n;
  else if (lenBytes === 2) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(n, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeBigUInt64BE(BigInt(n), 2);
  }
  out.set(payload, head);
  return out;
}

/** A speech clip followed by silence up to `periodMs` (a session speaks it once per period). */
export function speechLoop(clip: Int16Array, periodMs: number): Int16Array {
  const n = Math.max(clip.length, Math.round((periodMs * 16_000) / 1000));
  const out = new Int16Array(Math.ceil(n / SAMPLES_PER_CHUNK) * SAMPLES_PER_CHUNK);
  out.set(clip);
  return out;
}

/** Index of the chunk that holds the sample at `ms` (e.g. the clip's last voiced sample). */
export function chunkIndexAt(ms: number): number {
  return Math.max(0, Math.ceil(ms / CHUNK_MS) - 1);
}

/**
 * Start times of n sessions spread evenly over `spreadMs` from t0 (fractional ms), and chunk k of
 * session i is due at start[i] + k · CHUNK_MS.
 */
export function startTimes(t0: number, n: number, spreadMs: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = t0 + (i * spreadMs) / Math.max(1, n);
  return out;
}

export interface LoadCounters {
  /** Server frames received, by type. */
  framesIn: number;
  asrLagFrames: number;
  asrLagMs: number;
  errors: Record<string, number>;
  vadStart: number;
  vadEnd: number;
  partials: number;
  finals: number;
  turnsStarted: number;
  genTokens: number;
  genDone: number;
  turnsCancelled: number;
  badFrames: number;
  closed: number;
}

function newCounters(): LoadCounters {
  return { framesIn: 0, asrLagFrames: 0, asrLagMs: 0, errors: {}, vadStart: 0, vadEnd: 0, partials: 0, finals: 0, turnsStarted: 0, genTokens: 0, genDone: 0, turnsCancelled: 0, badFrames: 0, closed: 0 };
}

export function diffCounters(a: LoadCounters, b: LoadCounters): LoadCounters {
  const errors: Record<string, number> = {};
  for (const [k, v] of Object.entries(b.errors)) {
    const d = v - (a.errors[k] ?? 0);
    if (d !== 0) errors[k] = d;
  }
  const out = { ...b, errors };
  for (const k of Object.keys(b) as (keyof LoadCounters)[]) {
    if (k !== 'errors') (out[k] as number) = (b[k] as number) - (a[k] as number);
  }
  return out;
}

export class VoiceSession {
  startAt = 0;
  /** Next chunk to send (chunks sent so far). */
  next = 0;
  /** Wall-clock send time of each chunk (probe and end-of-speech sessions only). */
  sentWall: number[] | undefined;
  /** performance.now() send time of each chunk (end-of-speech sessions only). */
  sentPerf: number[] | undefined;

  constructor(
    readonly index: number,
    readonly ws: WebSocket,
    /** Writes chunk frames straight to the TCP socket under `ws` (one write(2) each while the
     *  socket's queue is empty: src/backends/asr/direct-write.ts). */
    readonly write: ByteWriter,
    /** First chunk of the timeline this session sends. */
    readonly offset: number,
  ) {}
}

export interface OpenOptions {
  /** audio.start language; undefined omits it (probe sessions: WhisperLive sees language null). */
  language?: string | undefined;
  /** Record per-chunk wall-clock send times. */
  trackSends?: boolean;
  /** Record per-chunk performance.now() send times. */
  trackPerf?: boolean;
}

export type MessageHook = (s: VoiceSession, m: ServerMessage, atPerf: number) => void;

export class AudioLoad {
  readonly sessions: VoiceSession[] = [];
  /** Lateness of each chunk sent while `measuring` (send time − due time), ms. */
  readonly lateness = new LinearHistogram(0.05, 5_000);
  readonly counters = newCounters();
  measuring = false;
  /** Chunks sent in total, and while measuring. */
  sent = 0;
  sentMeasured = 0;
  private timer: NodeJS.Timeout | undefined;
  private nextOffset = 0;
  /** The timeline's chunk messages as whole WebSocket frames (wsClientFrame), shared by all. */
  private readonly frames: readonly Buffer[];

  constructor(
    private readonly url: string,
    private readonly timeline: readonly Uint8Array[],
    private readonly opts: { loop: boolean; tickMs: number; spreadMs: number; onMessage?: MessageHook },
  ) {
    this.frames = timeline.map(wsClientFrame);
  }

  /** Opens n sessions (hello → ready → audio.start), `batch` handshakes at a time. */
  async open(n: number, o: OpenOptions = {}, batch = 100): Promise<VoiceSession[]> {
    const out: VoiceSession[] = [];
    for (let k = 0; k < n; k += batch) {
      out.push(...(await Promise.all(Array.from({ length: Math.min(batch, n - k) }, () => this.openOne(o)))));
    }
    return out;
  }

  private async openOne(o: OpenOptions): Promise<VoiceSession> {
    // encode() returns a view of the codec's shared buffer; with a zero mask ws may queue that
    // very view on the socket, so each frame is copied.
    const enc = (m: ClientMessage): Uint8Array => (codec.encode(m) as Uint8Array).slice();
    // A zero masking key: RFC 6455 clients must mask, and the server unmasks whatever the key;
    // with zeros ws skips the XOR and copy in this (load generator) process.
    const codec = createClientCodec('vlp.v1.msgpack');
    const ws = new WebSocket(this.url, ['vlp.v1.msgpack'], { perMessageDeflate: false, generateMask: (m: Buffer) => void m.fill(0) });
    let socket: Socket | undefined;
    // The handshake response carries the socket ws goes on with ('open' follows in the same tick).
    ws.once('upgrade', (res: IncomingMessage) => {
      if (res.socket instanceof Socket) socket = res.socket;
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    if (!socket) throw new Error('no TCP socket under the WebSocket');
    await new Promise<void>((resolve, reject) => {
      ws.once('message', (data: Buffer) => {
        const r = codec.decode(data);
        if (r.ok && r.msg.t === 'ready') resolve();
        else reject(new Error('no ready'));
      });
      ws.send(enc({ t: 'hello', client: 'bench-audio' }));
    });
    const offset = this.opts.loop ? (this.nextOffset += 37) % this.timeline.length : 0;
    const fd = socketFd(socket);
    const s = new VoiceSession(this.sessions.length, ws, fd === undefined ? streamWriter(socket) : directWriter(socket, fd), offset);
    if (o.trackSends) s.sentWall = [];
    if (o.trackPerf) s.sentPerf = [];
    this.sessions.push(s);
    const c = this.counters;
    ws.on('message', (data: Buffer) => {
      const at = performance.now();
      c.framesIn++;
      const r = codec.decode(data);
      if (!r.ok) {
        c.badFrames++;
        return;
      }
      const m = r.msg;
      switch (m.t) {
        case 'asr.lag':
          c.asrLagFrames++;
          c.asrLagMs += m.dropped_ms;
          break;
        case 'error':
          c.errors[m.code] = (c.errors[m.code] ?? 0) + 1;
          break;
        case 'vad':
          if (m.event === 'speech_start') c.vadStart++;
          else c.vadEnd++;
          break;
        case 'asr.partial':
          c.partials++;
          break;
        case 'asr.final':
          c.finals++;
          break;
        case 'turn.started':
          c.turnsStarted++;
          break;
        case 'gen.token':
          c.genTokens += m.n;
          break;
        case 'gen.done':
          c.genDone++;
          break;
        case 'turn.cancelled':
          c.turnsCancelled++;
          break;
        default:
          break;
      }
      this.opts.onMessage?.(s, m, at);
    });
    ws.on('close', () => c.closed++);
    ws.on('error', () => undefined);
    ws.send(enc({ t: 'audio.start', format: { encoding: 'pcm16', sample_rate: 16_000, channels: 1 }, ...(o.language !== undefined ? { language: o.language } : {}) }));
    return s;
  }

  /** Starts streaming: session i's first chunk is due at now + leadMs + i·spreadMs/n. */
  start(leadMs = 20): void {
    const starts = startTimes(performance.now() + leadMs, this.sessions.length, this.opts.spreadMs);
    this.sessions.forEach((s, i) => {
      s.startAt = starts[i] as number;
      s.next = 0;
    });
    this.timer = setInterval(() => this.tick(), this.opts.tickMs);
  }

  /** Sends every chunk that is due (several per session when the tick came late): one write of a
   *  pre-built frame each. ws writes its own frames synchronously and whole (no compression), so
   *  frames written here and by ws never interleave. */
  tick(): void {
    const now = performance.now();
    const tl = this.frames;
    const len = tl.length;
    const measuring = this.measuring;
    for (const s of this.sessions) {
      for (;;) {
        const due = s.startAt + s.next * CHUNK_MS;
        if (due > now) break;
        if (!this.opts.loop && s.next >= len) break;
        if (s.ws.readyState !== WebSocket.OPEN) break;
        if (s.sentWall) s.sentWall[s.next] = wallNow();
        if (s.sentPerf) s.sentPerf[s.next] = performance.now();
        s.write(tl[(s.offset + s.next) % len] as Buffer);
        s.next++;
        this.sent++;
        if (measuring) {
          this.sentMeasured++;
          this.lateness.add(now - due);
        }
      }
    }
  }

  /** True when every session sent its whole (non-looping) timeline. */
  get finished(): boolean {
    return !this.opts.loop && this.sessions.every((s) => s.next >= this.timeline.length);
  }

  /** Bytes waiting in the client sockets (the gateway not reading fast enough shows here). */
  bufferedBytes(): number {
    let b = 0;
    for (const s of this.sessions) b += s.ws.bufferedAmount;
    return b;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  snapshot(): LoadCounters {
    return { ...this.counters, errors: { ...this.counters.errors } };
  }

  async closeAll(): Promise<void> {
    this.stop();
    await Promise.all(
      this.sessions.map(
        (s) =>
          new Promise<void>((resolve) => {
            if (s.ws.readyState === WebSocket.CLOSED) return resolve();
            s.ws.once('close', () => resolve());
            s.ws.close();
            setTimeout(() => {
              s.ws.terminate();
              resolve();
            }, 2_000).unref();
          }),
      ),
    );
  }
}

/**
 * End-to-end latency of probe sessions: client send (wall clock) → the simulator reading the frame
 * that completes the chunk (its wall clock minus `offsetMs`, the simulator clock's offset).
 * Frames are matched by cumulative sample count (the gateway forwards 16 kHz PCM unchanged, one
 * frame per chunk when the ASR keeps up). Only chunks sent within [fromWall, toWall] count.
 */
export function probeLatencies(
  sentWall: readonly (number[] | undefined)[],
  sim: readonly { samples: number[]; atMs: number[] }[],
  offsetMs: number,
  fromWall: number,
  toWall: number,
  into: LinearHistogram,
): { matched: number; unmatched: number } {
  let matched = 0;
  let unmatched = 0;
  for (let p = 0; p < sentWall.length; p++) {
    const sent = sentWall[p];
    const got = sim[p];
    if (!sent) continue;
    const arrival = new Map<number, number>();
    if (got) for (let i = 0; i < got.samples.length; i++) arrival.set(got.samples[i] as number, (got.atMs[i] as number) - offsetMs);
    for (let k = 0; k < sent.length; k++) {
      const t = sent[k];
      if (t === undefined || t < fromWall || t > toWall) continue;
      const a = arrival.get((k + 1) * SAMPLES_PER_CHUNK);
      if (a === undefined) unmatched++;
      else {
        matched++;
        into.add(a - t);
      }
    }
  }
  return { matched, unmatched };
}

// Voice input for the SDK: audio formats, framing of an encoded byte stream into audio.chunk
// payloads, and the pacer that sends them against the audio clock (not setTimeout drift) with
// backpressure. VlpClient.streamAudio() runs pumpAudio() over the client's socket.
import type { AsrTask, AudioEncoding, AudioFormat, ClientMessage } from '../../protocol/messages.ts';
import { VlpClientError } from './errors.ts';
import type { SendResult } from './wire.ts';

export type { AsrTask, AudioEncoding, AudioFormat };

/** Sample rates the gateway accepts for pcm16 and f32 (mulaw: 8000; Opus forms: 48000). */
export const PCM_RATES: readonly number[] = [8_000, 16_000, 24_000, 48_000];

/** Opus timestamps (Ogg granule positions) count 48 kHz samples whatever the input rate. */
const OPUS_SAMPLES_PER_MS = 48;

/** Bytes per sample of the linear encodings; undefined for the Opus forms. */
export function sampleBytes(encoding: AudioEncoding): number | undefined {
  switch (encoding) {
    case 'pcm16':
      return 2;
    case 'f32':
      return 4;
    case 'mulaw':
      return 1;
    default:
      return undefined;
  }
}

/** Bytes of one millisecond of audio for the linear encodings (mono); undefined for Opus forms. */
export function bytesPerMs(format: AudioFormat): number | undefined {
  const b = sampleBytes(format.encoding);
  return b === undefined ? undefined : (b * format.sample_rate * format.channels) / 1000;
}

/**
 * Parse an audio format spec such as `pcm16:16000`, `f32:48000`, `mulaw` (8000 Hz) or `ogg_opus`
 * (48000 Hz): an AudioFormat (mono), or an error message.
 */
export function parseAudioFormat(spec: string): AudioFormat | string {
  const m = /^([a-z0-9_]+)(?::(\d+))?$/.exec(spec.trim());
  const enc = m?.[1];
  const fixed: Partial<Record<AudioEncoding, number>> = { mulaw: 8_000, ogg_opus: 48_000, webm_opus: 48_000 };
  if (m === null || enc === undefined || !['pcm16', 'f32', 'mulaw', 'ogg_opus', 'webm_opus'].includes(enc)) {
    return `audio format must be pcm16:RATE, f32:RATE, mulaw, ogg_opus or webm_opus, got "${spec}"`;
  }
  const encoding = enc as AudioEncoding;
  const rate = m[2] === undefined ? fixed[encoding] : Number(m[2]);
  if (rate === undefined) return `audio format ${encoding} needs a sample rate (${encoding}:16000), got "${spec}"`;
  const allowed = fixed[encoding] !== undefined ? [fixed[encoding]] : PCM_RATES;
  if (!allowed.includes(rate)) return `${encoding} sample rate must be ${allowed.join(', ')} Hz, got ${rate}`;
  return { encoding, sample_rate: rate, channels: 1 };
}

/** Wall clock the pacer schedules against (injectable for tests and simulations). */
export interface AudioClock {
  /** Milliseconds, monotonic. */
  now(): number;
  /** Resolves after `ms`; rejects with signal.reason when the signal aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: AudioClock = {
  now: () => performance.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted === true) {
        reject(signal.reason);
        return;
      }
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

/** `'realtime'` (= 1), a speed factor (2 = twice real time), or `'none'` (as fast as the socket takes it). */
export type AudioPace = 'realtime' | 'none' | number;

export interface AudioStartOptions {
  /** Spoken language (Whisper code, "en", "zh"); absent = the server default or detection. */
  language?: string;
  /** `translate`: transcripts are the English translation of the speech. */
  task?: AsrTask;
}

export interface StreamAudioOptions extends AudioStartOptions {
  /** Encoding of the source bytes (mono). */
  format: AudioFormat;
  /** pcm16 / f32 / mulaw: audio per audio.chunk, ms (default 20). Opus forms are not re-chunked. */
  chunkMs?: number;
  /** Default 'realtime'. The gateway drops audio faster than its limit (2x by default) with
   *  AUDIO_TOO_FAST once a 3 s burst allowance is used up. */
  pace?: AudioPace;
  /** Aborting stops sending (no audio.end: the next startAudio() replaces the server's stream, or
   *  call endAudio() to have what was sent transcribed); streamAudio() rejects with signal.reason. */
  signal?: AbortSignal;
  /** Clock to pace against; default performance.now() and setTimeout. */
  clock?: AudioClock;
  /** When the sender falls behind the audio clock by more than this (a slow source, a congested
   *  socket), it stops catching up and shifts its schedule instead, ms. Default 1000. */
  maxCatchUpMs?: number;
}

export interface StreamAudioResult {
  /** audio.chunk messages sent. */
  chunks: number;
  /** Audio bytes sent. */
  bytes: number;
  /** Audio duration sent, ms; undefined when the format does not tell (webm_opus). */
  audioMs: number | undefined;
}

/** What the pacer sends through; VlpClient provides it. */
export interface AudioSink {
  send(msg: ClientMessage): SendResult;
  /** Resolves when the send buffer has drained enough to send more. */
  drain(): Promise<void>;
  /** ready.limits.max_audio_chunk_bytes. */
  readonly maxChunkBytes: number;
  /** The error to throw when a send finds the socket closed. */
  closedError(): Error;
}

/** One audio.chunk payload and the audio time at which it starts, ms (undefined: unknown, sent as
 *  soon as it is read). */
export interface AudioPiece {
  data: Uint8Array;
  atMs: number | undefined;
}

/** Sum of the durations after the last piece, when known. */
interface FrameTally {
  endMs: number | undefined;
}

function toBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (typeof chunk === 'string') throw new TypeError('audio source yields strings; it must yield bytes (do not set an encoding on the stream)');
  throw new TypeError('audio source must yield Uint8Array or Buffer chunks');
}

/**
 * Split an encoded audio byte stream into audio.chunk payloads:
 * - pcm16, f32, mulaw: frames of exactly `chunkMs` of audio (whole samples, at most maxChunkBytes);
 *   a trailing partial sample is dropped.
 * - ogg_opus: one payload per Ogg page, timed by the pages' granule positions; bytes that are not
 *   Ogg pages are passed through untimed.
 * - opus: each source chunk is one packet, passed as is, timed by its TOC byte.
 * - webm_opus: passed through as the source yields it (split at maxChunkBytes), untimed.
 */
export async function* frameAudio(
  source: AsyncIterable<unknown>,
  format: AudioFormat,
  opts: { chunkMs?: number; maxChunkBytes: number },
  tally: FrameTally = { endMs: undefined },
): AsyncGenerator<AudioPiece, void, undefined> {
  const unit = sampleBytes(format.encoding);
  if (unit !== undefined) {
    yield* framePcm(source, format, unit, opts.chunkMs ?? 20, opts.maxChunkBytes, tally);
  } else if (format.encoding === 'ogg_opus') {
    yield* frameOgg(source, opts.maxChunkBytes, tally);
  } else if (format.encoding === 'opus') {
    let at = 0;
    for await (const raw of source) {
      const packet = toBytes(raw);
      if (packet.length === 0) continue;
      yield { data: packet, atMs: at };
      at += opusPacketMs(packet);
      tally.endMs = at;
    }
  } else {
    for await (const raw of source) {
      const bytes = toBytes(raw);
      for (let i = 0; i < bytes.length; i += opts.maxChunkBytes) {
        yield { data: bytes.subarray(i, i + opts.maxChunkBytes), atMs: undefined };
      }
    }
  }
}

async function* framePcm(
  source: AsyncIterable<unknown>,
  format: AudioFormat,
  unit: number,
  chunkMs: number,
  maxChunkBytes: number,
  tally: FrameTally,
): AsyncGenerator<AudioPiece, void, undefined> {
  const perMs = (unit * format.sample_rate * format.channels) / 1000;
  const align = unit * format.channels;
  const maxFrame = Math.floor(maxChunkBytes / align) * align;
  if (maxFrame <= 0) throw new RangeError(`max_audio_chunk_bytes ${maxChunkBytes} is smaller than one sample`);
  const frame = Math.min(maxFrame, Math.max(align, Math.round((format.sample_rate * chunkMs) / 1000) * align));
  let sent = 0;
  let pending = new Uint8Array(0);
  tally.endMs = 0;
  for await (const raw of source) {
    const chunk = toBytes(raw);
    if (chunk.length === 0) continue;
    let buf: Uint8Array;
    if (pending.length === 0) buf = chunk;
    else {
      buf = new Uint8Array(pending.length + chunk.length);
      buf.set(pending);
      buf.set(chunk, pending.length);
    }
    let i = 0;
    while (buf.length - i >= frame) {
      yield { data: buf.subarray(i, i + frame), atMs: sent / perMs };
      sent += frame;
      tally.endMs = sent / perMs;
      i += frame;
    }
    pending = buf.slice(i); // a copy: the source may reuse its buffers
  }
  const tail = pending.length - (pending.length % align);
  if (tail > 0) {
    yield { data: pending.subarray(0, tail), atMs: sent / perMs };
    sent += tail;
    tally.endMs = sent / perMs;
  }
}

const OGG_HEADER = 27;

/** Ogg pages one by one, each timed at the granule position (end time) of the page before it. */
async function* frameOgg(source: AsyncIterable<unknown>, maxChunkBytes: number, tally: FrameTally): AsyncGenerator<AudioPiece, void, undefined> {
  let buf = new Uint8Array(0);
  let clockMs = 0;
  let synced = true;
  tally.endMs = 0;
  for await (const raw of source) {
    const chunk = toBytes(raw);
    if (!synced) {
      for (let i = 0; i < chunk.length; i += maxChunkBytes) yield { data: chunk.subarray(i, i + maxChunkBytes), atMs: undefined };
      continue;
    }
    const joined = new Uint8Array(buf.length + chunk.length);
    joined.set(buf);
    joined.set(chunk, buf.length);
    buf = joined;
    let pos = 0;
    for (;;) {
      if (buf.length - pos < OGG_HEADER) break;
      if (!isOggPage(buf, pos)) {
        // Not an Ogg stream (or a corrupt one): pass everything on as it comes, untimed.
        synced = false;
        tally.endMs = undefined;
        const rest = buf.subarray(pos);
        for (let i = 0; i < rest.length; i += maxChunkBytes) yield { data: rest.subarray(i, i + maxChunkBytes), atMs: undefined };
        pos = buf.length;
        break;
      }
      const segments = buf[pos + 26] as number;
      if (buf.length - pos < OGG_HEADER + segments) break;
      let body = 0;
      for (let s = 0; s < segments; s++) body += buf[pos + OGG_HEADER + s] as number;
      const size = OGG_HEADER + segments + body;
      if (buf.length - pos < size) break;
      const view = new DataView(buf.buffer, buf.byteOffset + pos, OGG_HEADER);
      const granule = view.getBigInt64(6, true);
      yield { data: buf.subarray(pos, pos + size), atMs: clockMs };
      if (granule >= 0n) clockMs = Math.max(clockMs, Number(granule) / OPUS_SAMPLES_PER_MS);
      tally.endMs = clockMs;
      pos += size;
    }
    buf = buf.slice(pos);
  }
  if (buf.length > 0) {
    // A truncated last page: send it anyway, the gateway decides what it can use.
    for (let i = 0; i < buf.length; i += maxChunkBytes) yield { data: buf.subarray(i, i + maxChunkBytes), atMs: synced ? clockMs : undefined };
  }
}

function isOggPage(b: Uint8Array, pos: number): boolean {
  return b[pos] === 0x4f && b[pos + 1] === 0x67 && b[pos + 2] === 0x67 && b[pos + 3] === 0x53 && b[pos + 4] === 0;
}

/** Duration of one Opus packet from its TOC byte (RFC 6716 section 3.1), ms; 0 when malformed. */
export function opusPacketMs(packet: Uint8Array): number {
  const toc = packet[0];
  if (toc === undefined) return 0;
  const config = toc >> 3;
  const frameMs = config < 12 ? ([10, 20, 40, 60][config % 4] as number) : config < 16 ? ([10, 20][config % 2] as number) : ([2.5, 5, 10, 20][config % 4] as number);
  const code = toc & 3;
  const frames = code === 0 ? 1 : code < 3 ? 2 : (packet[1] ?? 0) & 0x3f;
  return frameMs * frames;
}

/**
 * Send one audio stream: audio.start, the source's audio as audio.chunk messages paced by the audio
 * clock, audio.end. Chunk k is due at t0 + atMs(k) / speed, t0 being the time the first chunk was
 * ready; a sleep that overshoots does not accumulate (every deadline is computed from t0). When a
 * send reports backpressure the pacer waits for the socket to drain. Resolves once audio.end has
 * been handed to the socket.
 */
export async function pumpAudio(sink: AudioSink, source: AsyncIterable<unknown>, opts: StreamAudioOptions): Promise<StreamAudioResult> {
  const pace = opts.pace ?? 'realtime';
  const speed = pace === 'none' ? undefined : pace === 'realtime' ? 1 : pace;
  if (speed !== undefined && !(Number.isFinite(speed) && speed > 0)) throw new RangeError(`pace must be 'realtime', 'none' or a number > 0, got ${String(pace)}`);
  const chunkMs = opts.chunkMs ?? 20;
  if (!(Number.isFinite(chunkMs) && chunkMs > 0)) throw new RangeError(`chunkMs must be a number > 0, got ${chunkMs}`);
  const clock = opts.clock ?? systemClock;
  const maxCatchUpMs = opts.maxCatchUpMs ?? 1_000;
  const signal = opts.signal;
  const bad = checkFrameable(opts.format);
  if (bad !== undefined) throw audioInvalid(bad);
  signal?.throwIfAborted();

  const send = (msg: ClientMessage): SendResult => {
    const r = sink.send(msg);
    if (r === 'dropped') throw sink.closedError();
    return r;
  };
  send({
    t: 'audio.start',
    format: opts.format,
    ...(opts.language !== undefined && { language: opts.language }),
    ...(opts.task !== undefined && { task: opts.task }),
  });

  const tally: FrameTally = { endMs: undefined };
  let chunks = 0;
  let bytes = 0;
  let t0: number | undefined;
  let firstAt = 0;
  for await (const piece of frameAudio(source, opts.format, { chunkMs, maxChunkBytes: sink.maxChunkBytes }, tally)) {
    signal?.throwIfAborted();
    if (speed !== undefined && piece.atMs !== undefined) {
      if (t0 === undefined) {
        t0 = clock.now();
        firstAt = piece.atMs;
      }
      const due = t0 + (piece.atMs - firstAt) / speed;
      const late = clock.now() - due;
      if (late < 0) await clock.sleep(-late, signal);
      else if (late > maxCatchUpMs) t0 += late - maxCatchUpMs;
    }
    const r = send({ t: 'audio.chunk', data: piece.data });
    chunks += 1;
    bytes += piece.data.length;
    if (r === 'backpressure') await sink.drain();
  }
  signal?.throwIfAborted();
  send({ t: 'audio.end' });
  return { chunks, bytes, audioMs: tally.endMs };
}

/** Validation message for a format the SDK cannot frame, else undefined. */
export function checkFrameable(format: AudioFormat): string | undefined {
  if (!Number.isInteger(format.channels) || format.channels < 1) return `channels must be an integer >= 1, got ${format.channels}`;
  if (sampleBytes(format.encoding) !== undefined && !(Number.isInteger(format.sample_rate) && format.sample_rate > 0)) {
    return `sample_rate must be an integer > 0, got ${format.sample_rate}`;
  }
  return undefined;
}

/** A VlpClientError for unusable audio input (bad file, bad format). */
export function audioInvalid(message: string, cause?: unknown): VlpClientError {
  return new VlpClientError('CLIENT_AUDIO_INVALID', message, { retryable: false, ...(cause !== undefined && { cause }) });
}

// Audio input from files and streams for the SDK and CLI. A WAV file whose data the gateway takes as
// is (PCM16 or float32 mono at 8/16/24/48 kHz, µ-law mono at 8 kHz) is streamed byte for byte; its
// RIFF header is parsed here (chunks walked, WAVE_FORMAT_EXTENSIBLE understood). Anything else
// (stereo, 22.05/44.1 kHz, 24-bit, mp3, ogg, flac, m4a...) is decoded by ffmpeg, started through
// prism-media, to PCM16 mono 16 kHz.
import type { ChildProcess } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import type { Readable } from 'node:stream';
import prism from 'prism-media';
import type { AudioEncoding, AudioFormat } from '../../protocol/messages.ts';
import { audioInvalid, bytesPerMs, PCM_RATES } from './audio.ts';
import { VlpClientError } from './errors.ts';

export interface AudioInput {
  format: AudioFormat;
  /** The encoded audio bytes, to pass to VlpClient.streamAudio(). Iterate it once. */
  stream: AsyncIterable<Uint8Array>;
  /** Duration, ms, when known before streaming (WAV and raw files). */
  durationMs?: number;
  /** `wav`: the file's samples as they are; `ffmpeg`: decoded to PCM16 16 kHz; `raw`: headerless bytes. */
  source: 'wav' | 'ffmpeg' | 'raw';
  /** Stop reading; releases the file or ends the ffmpeg process. Idempotent. */
  close(): void;
}

/** The PCM ffmpeg produces for the gateway: 16-bit little-endian, 16 kHz, mono. */
export const FFMPEG_OUTPUT: AudioFormat = { encoding: 'pcm16', sample_rate: 16_000, channels: 1 };
const FFMPEG_OUTPUT_ARGS = ['-f', 's16le', '-ar', '16000', '-ac', '1'];
const FFMPEG_INPUT_ARGS = ['-analyzeduration', '0', '-loglevel', '0'];

const READ_CHUNK = 64 * 1024;

export interface WavInfo {
  /** How the gateway can take the samples; `undefined` = it cannot (decode with ffmpeg). */
  encoding: AudioEncoding | undefined;
  /** wFormatTag, or the SubFormat's tag for WAVE_FORMAT_EXTENSIBLE (1 PCM, 3 float, 7 µ-law). */
  formatTag: number;
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  /** File offset of the first sample byte. */
  dataOffset: number;
  /** Sample bytes (clamped to the file; a streamed WAV's unset size means "to the end"). */
  dataBytes: number;
}

const WAVE_FORMAT_PCM = 1;
const WAVE_FORMAT_IEEE_FLOAT = 3;
const WAVE_FORMAT_MULAW = 7;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;
/** Bytes 2..15 of every KSDATAFORMAT_SUBTYPE_* GUID whose first two bytes are a format tag. */
const KSDATAFORMAT_SUFFIX = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71];
/** Chunks walked before giving up on finding fmt and data. */
const MAX_WAV_CHUNKS = 1_000;

const ascii = (b: Uint8Array, at: number): string => String.fromCharCode(...b.subarray(at, at + 4));

/**
 * Parse a RIFF/WAVE header by walking its chunks (fmt, then data; LIST, fact, JUNK, bext... are
 * skipped, odd sizes padded). `read(offset, length)` returns up to `length` bytes of the file at
 * `offset`; `size` is the file size. Undefined when the bytes are not a usable WAV (not RIFF/WAVE,
 * RIFX or RF64, no fmt or data chunk): let ffmpeg try it.
 */
export async function readWavInfo(read: (offset: number, length: number) => Promise<Uint8Array>, size: number): Promise<WavInfo | undefined> {
  const head = await read(0, 12);
  if (head.length < 12 || ascii(head, 0) !== 'RIFF' || ascii(head, 8) !== 'WAVE') return undefined;
  let fmt: Uint8Array | undefined;
  let offset = 12;
  for (let n = 0; n < MAX_WAV_CHUNKS && offset + 8 <= size; n++) {
    const h = await read(offset, 8);
    if (h.length < 8) return undefined;
    const id = ascii(h, 0);
    const len = new DataView(h.buffer, h.byteOffset, 8).getUint32(4, true);
    const body = offset + 8;
    if (id === 'fmt ') {
      fmt = await read(body, Math.min(len, 64));
    } else if (id === 'data') {
      if (fmt === undefined || fmt.length < 16) return undefined;
      // ffmpeg and recorders writing to a pipe leave the size at 0 or 0xFFFFFFFF.
      const dataBytes = len === 0 || len === 0xffffffff || body + len > size ? size - body : len;
      return describeWav(fmt, body, dataBytes);
    }
    offset = body + len + (len % 2);
  }
  return undefined;
}

function describeWav(fmt: Uint8Array, dataOffset: number, dataBytes: number): WavInfo | undefined {
  const v = new DataView(fmt.buffer, fmt.byteOffset, fmt.length);
  let tag = v.getUint16(0, true);
  const channels = v.getUint16(2, true);
  const sampleRate = v.getUint32(4, true);
  const blockAlign = v.getUint16(12, true);
  const bitsPerSample = v.getUint16(14, true);
  let validBits = bitsPerSample;
  if (tag === WAVE_FORMAT_EXTENSIBLE) {
    if (fmt.length < 40) return undefined;
    validBits = v.getUint16(18, true) || bitsPerSample;
    const guidSuffixOk = KSDATAFORMAT_SUFFIX.every((b, i) => fmt[26 + i] === b);
    tag = guidSuffixOk ? v.getUint16(24, true) : -1;
  }
  const info: WavInfo = { encoding: undefined, formatTag: tag, channels, sampleRate, bitsPerSample, dataOffset, dataBytes };
  if (channels !== 1 || validBits !== bitsPerSample || blockAlign !== (bitsPerSample / 8) * channels) return info;
  if (tag === WAVE_FORMAT_PCM && bitsPerSample === 16 && PCM_RATES.includes(sampleRate)) info.encoding = 'pcm16';
  else if (tag === WAVE_FORMAT_IEEE_FLOAT && bitsPerSample === 32 && PCM_RATES.includes(sampleRate)) info.encoding = 'f32';
  else if (tag === WAVE_FORMAT_MULAW && bitsPerSample === 8 && sampleRate === 8_000) info.encoding = 'mulaw';
  return info;
}

export interface OpenAudioOptions {
  /** The file is headerless audio in this format (raw PCM, an Ogg Opus file to pass through...):
   *  sent as is, nothing parsed or decoded. */
  format?: AudioFormat;
}

/**
 * Open an audio file for VlpClient.streamAudio(). WAV files the gateway accepts are sent as they
 * are; other files are decoded by ffmpeg to PCM16 16 kHz mono (the promise rejects with
 * CLIENT_FFMPEG_NOT_FOUND when there is no ffmpeg, CLIENT_AUDIO_INVALID when the file cannot be
 * read or decoded). Call close() if the stream is not consumed to the end.
 */
export async function openAudioFile(path: string, opts: OpenAudioOptions = {}): Promise<AudioInput> {
  let fh: FileHandle;
  let size: number;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw audioInvalid(`cannot read audio file ${path}: ${errnoText(err)}`, err);
  }
  let info: WavInfo | undefined;
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw audioInvalid(`cannot read audio file ${path}: not a regular file`);
    size = st.size;
    if (opts.format === undefined) {
      info = await readWavInfo(async (offset, length) => {
        const buf = Buffer.alloc(Math.max(0, Math.min(length, size - offset)));
        const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
        return buf.subarray(0, bytesRead);
      }, size);
    }
  } catch (err) {
    throw err instanceof VlpClientError ? err : audioInvalid(`cannot read audio file ${path}: ${errnoText(err)}`, err);
  } finally {
    await fh.close();
  }

  if (opts.format !== undefined) {
    const perMs = bytesPerMs(opts.format);
    return fileInput(path, 0, size, opts.format, 'raw', perMs === undefined ? undefined : size / perMs);
  }
  if (info?.encoding !== undefined) {
    const format: AudioFormat = { encoding: info.encoding, sample_rate: info.sampleRate, channels: 1 };
    return fileInput(path, info.dataOffset, info.dataBytes, format, 'wav', info.dataBytes / (bytesPerMs(format) as number));
  }
  // Everything else: ffmpeg reads the file itself (seekable: mp4/m4a with the index at the end work).
  // The first output is awaited so that a file ffmpeg cannot decode fails here, before any sending.
  const run = new FfmpegRun(['-nostdin', ...FFMPEG_INPUT_ARGS, '-i', `file:${resolvePath(path)}`, ...FFMPEG_OUTPUT_ARGS], path);
  run.proc.stdin?.end();
  const out = run.output();
  let first: IteratorResult<Uint8Array, void>;
  try {
    first = await out.next();
  } catch (err) {
    run.close();
    throw err;
  }
  async function* all(): AsyncGenerator<Uint8Array, void, undefined> {
    if (first.done === true) return;
    yield first.value;
    yield* out;
  }
  return {
    format: FFMPEG_OUTPUT,
    stream: all(),
    source: 'ffmpeg',
    close: () => run.close(),
  };
}

/**
 * Audio from a stream (e.g. stdin). With `format`, the bytes are that audio as is (raw PCM16,
 * f32, µ-law, an Ogg Opus stream); without, ffmpeg decodes whatever container it is to PCM16
 * 16 kHz mono (throws CLIENT_FFMPEG_NOT_FOUND without ffmpeg).
 */
export function openAudioStream(input: Readable, format?: AudioFormat): AudioInput {
  if (format !== undefined) {
    return { format, stream: input, source: 'raw', close: () => input.destroy() };
  }
  const run = new FfmpegRun([...FFMPEG_INPUT_ARGS, '-i', '-', ...FFMPEG_OUTPUT_ARGS], 'standard input');
  const stdin = run.proc.stdin;
  if (stdin !== null) {
    stdin.on('error', () => {}); // EPIPE when ffmpeg stops reading (it failed, or it was killed)
    input.pipe(stdin);
  }
  return {
    format: FFMPEG_OUTPUT,
    stream: run.output(),
    source: 'ffmpeg',
    close: () => {
      if (stdin !== null) input.unpipe(stdin);
      run.close();
    },
  };
}

function fileInput(path: string, start: number, bytes: number, format: AudioFormat, source: AudioInput['source'], durationMs: number | undefined): AudioInput {
  let rs: ReturnType<typeof createReadStream> | undefined;
  let closed = false;
  async function* read(): AsyncGenerator<Uint8Array, void, undefined> {
    if (closed || bytes <= 0) return;
    rs = createReadStream(path, { start, end: start + bytes - 1, highWaterMark: READ_CHUNK });
    try {
      for await (const chunk of rs) {
        if (closed) return;
        yield chunk as Buffer;
      }
    } catch (err) {
      if (closed) return;
      throw audioInvalid(`cannot read audio file ${path}: ${errnoText(err)}`, err);
    } finally {
      rs.destroy();
    }
  }
  return {
    format,
    stream: read(),
    source,
    ...(durationMs !== undefined && { durationMs: Math.round(durationMs) }),
    close: () => {
      closed = true;
      rs?.destroy();
    },
  };
}

/** One ffmpeg process (started through prism-media) and its decoded output. */
class FfmpegRun {
  readonly proc: ChildProcess;
  private closed = false;
  private readonly exited: Promise<number | null>;
  private spawnError: Error | undefined;

  /** Throws CLIENT_FFMPEG_NOT_FOUND when there is no ffmpeg binary. */
  constructor(
    args: string[],
    private readonly label: string,
  ) {
    let ff: InstanceType<typeof prism.FFmpeg>;
    try {
      ff = new prism.FFmpeg({ args });
    } catch (err) {
      throw new VlpClientError(
        'CLIENT_FFMPEG_NOT_FOUND',
        `decoding ${label} needs ffmpeg, and none was found on PATH (install it, e.g. apt-get install ffmpeg, or give a 16 kHz mono 16-bit PCM WAV file)`,
        { retryable: false, cause: err },
      );
    }
    this.proc = ff.process;
    this.proc.stderr?.resume();
    this.exited = new Promise<number | null>((resolve) => {
      this.proc.once('error', (err) => {
        this.spawnError = err;
        resolve(null);
      });
      this.proc.once('close', (code) => resolve(code));
    });
  }

  /** ffmpeg's stdout; throws CLIENT_AUDIO_INVALID when ffmpeg fails. Leaving the loop early kills it. */
  async *output(): AsyncGenerator<Uint8Array, void, undefined> {
    const stdout = this.proc.stdout;
    try {
      if (stdout !== null) {
        for await (const chunk of stdout) {
          if (this.closed) return;
          yield chunk as Buffer;
        }
      }
      const code = await this.exited;
      if (this.closed) return;
      if (this.spawnError !== undefined) {
        throw new VlpClientError('CLIENT_FFMPEG_NOT_FOUND', `cannot run ffmpeg to decode ${this.label}: ${this.spawnError.message}`, {
          retryable: false,
          cause: this.spawnError,
        });
      }
      if (code !== 0) throw audioInvalid(`ffmpeg could not decode ${this.label} (exit code ${code}): not audio, or a format this ffmpeg cannot read`);
    } catch (err) {
      if (this.closed) return;
      throw err;
    } finally {
      this.kill();
    }
  }

  /** Stop decoding now (the output then ends without an error). Idempotent. */
  close(): void {
    this.closed = true;
    this.kill();
    this.proc.stdout?.destroy();
  }

  private kill(): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
  }
}

function errnoText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'no such file';
    if (code === 'EACCES') return 'permission denied';
    if (code === 'EISDIR') return 'is a directory';
    return err.message;
  }
  return String(err);
}

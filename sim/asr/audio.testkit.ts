// Test helpers for the simulated ASR: generated clips as samples, and ffmpeg round trips that change
// the samples the way a gateway's decoder/resampler or a codec would.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { ClipName } from './clip-defs.ts';
import { ensureAudioClips, type ClipFiles } from './clip-gen.ts';
import { floatToInt16, parseWav, wavTo16kMono } from './wav.ts';

const run = promisify(execFile);

let files: Promise<ClipFiles> | undefined;

/** The generated clip files (made on first use). */
export function clips(): Promise<ClipFiles> {
  files ??= ensureAudioClips();
  return files;
}

/** A clip's 16 kHz samples as PCM16. */
export async function clipSamples(name: ClipName): Promise<Int16Array> {
  const f = await clips();
  return floatToInt16(wavTo16kMono(parseWav(await readFile(f.wav[name]))));
}

/** A clip's WAV bytes (16 kHz, or the 22050 Hz copy). */
export async function clipWav(name: ClipName, rate: 16_000 | 22_050 = 16_000): Promise<Buffer> {
  const f = await clips();
  const path = rate === 16_000 ? f.wav[name] : f.wav22050[name];
  if (path === undefined) throw new Error(`no ${rate} Hz copy of ${name}`);
  return readFile(path);
}

/** Run ffmpeg on a file: `filters` between input and a 16 kHz mono s16le output → samples. */
export async function ffmpeg16k(input: string, inputArgs: string[] = [], outputArgs: string[] = []): Promise<Int16Array> {
  const { stdout } = await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', ...inputArgs, '-i', input, ...outputArgs, '-ac', '1', '-ar', '16000', '-f', 's16le', 'pipe:1'], {
    encoding: 'buffer',
    maxBuffer: 64 << 20,
  });
  const buf = stdout as Buffer;
  const out = new Int16Array(buf.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = buf.readInt16LE(i * 2);
  return out;
}

/** One ffmpeg run writing several outputs, each with its own options (e.g. encodings to decode later). */
export async function ffmpegMulti(input: string, outputs: [path: string, args: string[]][]): Promise<void> {
  await run('ffmpeg', ['-y', '-hide_banner', '-loglevel', 'error', '-i', input, ...outputs.flatMap(([path, args]) => [...args, path])]);
}

/** `ms` of digital silence followed by the samples. */
export function withLeadingSilence(samples: Int16Array, ms: number): Int16Array {
  const out = new Int16Array(samples.length + Math.round(ms * 16));
  out.set(samples, out.length - samples.length);
  return out;
}

/** Deterministic white noise at `rms` (full scale 1). */
export function whiteNoise(seconds: number, rms: number, seed = 7): Int16Array {
  let a = seed >>> 0;
  const out = new Int16Array(Math.round(seconds * 16_000));
  const amp = rms * Math.sqrt(3) * 32767;
  for (let i = 0; i < out.length; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    out[i] = Math.round((u * 2 - 1) * amp);
  }
  return out;
}

/** Float32 LE bytes of PCM16 samples (WhisperLive's wire format). */
export function float32Bytes(samples: Int16Array): Buffer {
  const f = new Float32Array(samples.length);
  for (let i = 0; i < samples.length; i++) f[i] = (samples[i] as number) / 32768;
  return Buffer.from(f.buffer);
}

/** Little-endian PCM16 bytes. */
export function s16leBytes(samples: Int16Array): Buffer {
  const b = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i++) b.writeInt16LE(samples[i] as number, i * 2);
  return b;
}

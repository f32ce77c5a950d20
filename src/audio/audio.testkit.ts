// Test helpers for src/audio: real speech from espeak-ng, conversions by ffmpeg, and signal
// comparisons. Only tests import this file.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseWav } from './wav.ts';
import { oggPageCrc } from './ogg-crc.ts';
import type { AudioDecoder } from './types.ts';
import { concatSamples } from './concat-samples.ts';

export const SENTENCE = 'The quick brown fox jumps over the lazy dog. Then it rests in the warm sun.';

/** A temporary directory removed by the returned cleanup. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'vlp-audio-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function run(cmd: string, args: string[], input?: Uint8Array): Buffer {
  return execFileSync(cmd, args, { input, stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
}

/** espeak-ng speaks `text` into a WAV file (22 050 Hz mono PCM16). */
export function speak(path: string, text: string = SENTENCE): string {
  run('espeak-ng', ['-w', path, text]);
  return path;
}

/** ffmpeg: converts `input` with `args` (output options) to `output`. */
export function ffmpeg(input: string, args: string[], output: string): string {
  run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-i', input, ...args, output]);
  return output;
}

/** Raw output bytes of ffmpeg reading `input` (a path, or 'pipe:0' with `stdin`) with output
 *  options `args` (e.g. ['-f', 's16le', '-ar', '16000']). */
export function ffmpegRaw(input: string, args: string[], inputArgs: string[] = [], stdin?: Uint8Array): Uint8Array {
  return new Uint8Array(run('ffmpeg', ['-hide_banner', '-loglevel', 'error', ...inputArgs, '-i', input, ...args, '-'], stdin));
}

/** The samples of a mono PCM16 WAV file. */
export function readWavPcm16(path: string): { rate: number; samples: Int16Array } {
  const w = parseWav(new Uint8Array(readFileSync(path)));
  if (w.format !== 'pcm' || w.bitsPerSample !== 16 || w.channels !== 1) throw new Error(`${path} is not mono PCM16`);
  const samples = new Int16Array(w.data.length / 2);
  new Uint8Array(samples.buffer).set(w.data);
  return { rate: w.sampleRate, samples };
}

export function bytesToInt16(b: Uint8Array): Int16Array {
  const out = new Int16Array(b.length >> 1);
  new Uint8Array(out.buffer).set(b.subarray(0, out.length * 2));
  return out;
}

export function int16ToBytes(s: Int16Array): Uint8Array {
  return new Uint8Array(s.buffer.slice(s.byteOffset, s.byteOffset + s.byteLength));
}

/** Splits bytes into chunks of `size` (the last one shorter). */
export function chunks(b: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < b.length; i += size) out.push(b.subarray(i, i + size));
  return out;
}

/** Joins sample blocks in order (the production helper, under the name the tests use). */
export const concat16 = concatSamples;

/** Decodes every chunk and flushes: the whole 16 kHz stream. */
export function decodeAll(d: AudioDecoder, parts: Uint8Array[]): Int16Array {
  const out: Int16Array[] = [];
  for (const c of parts) out.push(d.decode(c));
  out.push(d.flush());
  return concat16(out);
}

/** Catches what fn throws (or fails the test when it does not throw). */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an exception');
}

export function tone(freq: number, rate: number, n: number, amp = 10_000, phase = 0.3): Int16Array {
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.round(amp * Math.sin((2 * Math.PI * freq * i) / rate + phase));
  return out;
}

export function rms(a: ArrayLike<number>, from = 0, to = a.length): number {
  let s = 0;
  for (let i = from; i < to; i++) s += (a[i] as number) ** 2;
  return Math.sqrt(s / Math.max(1, to - from));
}

/** Normalized cross-correlation of a and b at the best lag in [-maxLag, maxLag]. */
export function bestCorrelation(a: Int16Array, b: Int16Array, maxLag: number): { r: number; lag: number } {
  let best = { r: -1, lag: 0 };
  for (let lag = -maxLag; lag <= maxLag; lag++) {
    let ab = 0;
    let aa = 0;
    let bb = 0;
    const from = Math.max(0, -lag);
    const to = Math.min(a.length, b.length - lag);
    for (let i = from; i < to; i++) {
      const x = a[i] as number;
      const y = b[i + lag] as number;
      ab += x * y;
      aa += x * x;
      bb += y * y;
    }
    const r = aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0;
    if (r > best.r) best = { r, lag };
  }
  return best;
}

/** RMS per `frame` samples, in dB (floored at -100). */
export function envelopeDb(a: Int16Array, frame = 160): number[] {
  const out: number[] = [];
  for (let i = 0; i + frame <= a.length; i += frame) out.push(Math.max(-100, 20 * Math.log10(rms(a, i, i + frame) / 32768 + 1e-9)));
  return out;
}

/** Pearson correlation of two number series over their common length. */
export function pearson(a: number[], b: number[]): number {
  const n = Math.min(a.length, b.length);
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i] as number;
    mb += b[i] as number;
  }
  ma /= n;
  mb /= n;
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < n; i++) {
    const x = (a[i] as number) - ma;
    const y = (b[i] as number) - mb;
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  return ab / Math.sqrt(aa * bb);
}

/** Deterministic PRNG (mulberry32) for noise and fuzzing. */
export function prng(seed: number): () => number {
  let t = seed >>> 0;
  return () => {
    t = (t + 0x6d2b79f5) >>> 0;
    let r = Math.imul(t ^ (t >>> 15), 1 | t);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

/** White noise at `dbfs` RMS. */
export function noise(n: number, dbfs: number, seed = 1): Int16Array {
  const rand = prng(seed);
  const amp = 32768 * 10 ** (dbfs / 20) * Math.sqrt(3); // uniform noise: rms = amp / √3
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.round((rand() * 2 - 1) * amp);
  return out;
}

/** An Ogg page (valid checksum) carrying `packets`; `lacing` overrides the segment table. */
export function oggPage(opts: { serial?: number; seq: number; granule?: number; flags?: number; packets: Uint8Array[]; lacing?: number[] }): Uint8Array {
  const lacing: number[] = opts.lacing ?? [];
  if (!opts.lacing) {
    for (const p of opts.packets) {
      let n = p.length;
      while (n >= 255) {
        lacing.push(255);
        n -= 255;
      }
      lacing.push(n);
    }
  }
  const body = concatBytes(opts.packets);
  const page = new Uint8Array(27 + lacing.length + body.length);
  const dv = new DataView(page.buffer);
  page.set([0x4f, 0x67, 0x67, 0x53], 0);
  page[4] = 0;
  page[5] = opts.flags ?? 0;
  dv.setBigUint64(6, BigInt(opts.granule ?? 0), true);
  dv.setUint32(14, opts.serial ?? 0x1234, true);
  dv.setUint32(18, opts.seq, true);
  page[26] = lacing.length;
  page.set(lacing, 27);
  page.set(body, 27 + lacing.length);
  dv.setUint32(22, oggPageCrc(page), true);
  return page;
}

/** An OpusHead packet. */
export function opusHead(channels = 1, preSkip = 312, family = 0, streams = 1): Uint8Array {
  const b = new Uint8Array(family === 0 ? 19 : 21 + channels);
  const dv = new DataView(b.buffer);
  b.set(new TextEncoder().encode('OpusHead'), 0);
  b[8] = 1;
  b[9] = channels;
  dv.setUint16(10, preSkip, true);
  dv.setUint32(12, 48000, true);
  b[18] = family;
  if (family !== 0) {
    b[19] = streams;
    b[20] = 0;
  }
  return b;
}

export function concatBytes(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

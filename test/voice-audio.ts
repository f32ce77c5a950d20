// Audio for the voice integration tests: the generated clips' PCM16 and real-time-paced streaming
// of it as audio.chunk frames.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { ClipFiles } from '../sim/asr/index.ts';
import { parseWav } from '../src/audio/wav.ts';
import type { RawClient } from './harness.ts';

export const CHUNK = 640; // 20 ms of 16 kHz PCM16
export const BYTES_PER_MS = 32;
export const start16k = { t: 'audio.start', format: { encoding: 'pcm16', sample_rate: 16000, channels: 1 } } as const;

/** PCM16 bytes of a generated 16 kHz clip. */
export function clipPcm(clips: ClipFiles, name: keyof ClipFiles['wav']): Uint8Array {
  const wav = parseWav(new Uint8Array(readFileSync(clips.wav[name])));
  if (wav.sampleRate !== 16000 || wav.channels !== 1 || wav.bitsPerSample !== 16) throw new Error('clips are 16 kHz mono PCM16');
  return wav.data;
}

/** Streams PCM16 bytes, then `silenceMs` of silence, as 20 ms audio.chunk frames at `speed` × real
 *  time (the server allows 2). */
export async function streamPcm(c: RawClient, pcm: Uint8Array, speed = 1.8, silenceMs = 0): Promise<void> {
  const all = silenceMs > 0 ? new Uint8Array(pcm.length + Math.round(silenceMs * BYTES_PER_MS)) : pcm;
  if (all !== pcm) all.set(pcm);
  const t0 = performance.now();
  for (let i = 0, k = 0; i < all.length; i += CHUNK, k++) {
    const wait = t0 + (k * 20) / speed - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    c.send({ t: 'audio.chunk', data: all.subarray(i, Math.min(all.length, i + CHUNK)) });
  }
}

// Audio decoding for the simulated HTTP ASR services: WAV is parsed here (any rate/channels,
// resampled to 16 kHz mono); anything else goes through ffmpeg when it is installed, as the real
// whisper-asr-webservice does with `encode=true` (and as Hugging Face's pipeline does with bytes).
import { spawn } from 'node:child_process';
import { ASR_RATE, looksLikeWav, parseWav, s16leToInt16, wavTo16kMono } from './wav.ts';

export class DecodeError extends Error {}

/** Decode any container with ffmpeg to 16 kHz mono s16le; rejects with DecodeError on failure. */
export function ffmpegDecode(bytes: Uint8Array, ffmpegPath = 'ffmpeg', signal?: AbortSignal): Promise<Int16Array> {
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpegPath, ['-nostdin', '-hide_banner', '-loglevel', 'error', '-threads', '0', '-i', 'pipe:0', '-f', 's16le', '-acodec', 'pcm_s16le', '-ac', '1', '-ar', String(ASR_RATE), 'pipe:1'], {
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(signal ? { signal } : {}),
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.once('error', (e) => reject(new DecodeError(`Failed to load audio: ${e.message}`)));
    child.once('close', (code) => {
      if (code !== 0) return reject(new DecodeError(`Failed to load audio: ${Buffer.concat(err).toString().trim()}`));
      const buf = Buffer.concat(out);
      resolve(s16leToInt16(buf.subarray(0, buf.length - (buf.length % 2))));
    });
    child.stdin.on('error', () => undefined); // ffmpeg may exit before reading everything
    child.stdin.end(bytes);
  });
}

/** Bytes of an uploaded audio file → 16 kHz mono samples (floats in [-1, 1] or PCM16). */
export async function decodeAudio(bytes: Uint8Array, opts: { ffmpeg: string | false; signal?: AbortSignal }): Promise<Float32Array | Int16Array> {
  if (looksLikeWav(bytes)) {
    try {
      return wavTo16kMono(parseWav(bytes));
    } catch (err) {
      if (opts.ffmpeg === false) throw new DecodeError(`Failed to load audio: ${(err as Error).message}`);
    }
  }
  if (opts.ffmpeg === false) throw new DecodeError('Failed to load audio: not a WAV file and ffmpeg is disabled in this simulator');
  return ffmpegDecode(bytes, opts.ffmpeg, opts.signal);
}

// Every input encoding decoded to 16 kHz from real speech (espeak-ng), against ffmpeg's own
// conversion of the same audio to 16 kHz.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { VlpError } from '../../protocol/errors.ts';
import type { AudioEncoding } from '../../protocol/messages.ts';
import { createDecoder } from './decoder.ts';
import { Resampler } from './resample.ts';
import {
  bestCorrelation,
  bytesToInt16,
  chunks,
  decodeAll,
  envelopeDb,
  ffmpeg,
  ffmpegRaw,
  int16ToBytes,
  pearson,
  speak,
  tempDir,
  thrown,
} from './audio.testkit.ts';

interface OpusEncoder {
  encode(pcm: Buffer, frameSize: number): Buffer;
  delete(): void;
}
const OpusScript = createRequire(import.meta.url)('opusscript') as new (rate: number, channels: number, app: number) => OpusEncoder;

let tmp: ReturnType<typeof tempDir>;
let wav: string;
/** ffmpeg's 16 kHz version of the sentence: the reference every decoder is held to. */
let ref: Int16Array;
let refEnvelope: number[];
let opusPackets: Uint8Array[];

beforeAll(() => {
  tmp = tempDir();
  wav = speak(`${tmp.dir}/speech.wav`);
  ref = bytesToInt16(ffmpegRaw(wav, ['-f', 's16le', '-ar', '16000']));
  refEnvelope = envelopeDb(ref);
  const pcm48 = bytesToInt16(ffmpegRaw(wav, ['-f', 's16le', '-ar', '48000']));
  const enc = new OpusScript(48000, 1, 2048);
  opusPackets = [];
  for (let i = 0; i + 960 <= pcm48.length; i += 960) {
    opusPackets.push(new Uint8Array(enc.encode(Buffer.from(pcm48.slice(i, i + 960).buffer), 960)));
  }
  enc.delete();
});
afterAll(() => tmp.cleanup());

function expectInvalid(fn: () => unknown): VlpError {
  const err = thrown(fn);
  expect(err).toBeInstanceOf(VlpError);
  expect((err as VlpError).code).toBe('AUDIO_CHUNK_INVALID');
  return err as VlpError;
}

describe('fixed-size encodings', () => {
  const cases: { encoding: AudioEncoding; rate: number; ff: string; bytes: number }[] = [
    { encoding: 'pcm16', rate: 48000, ff: 's16le', bytes: 2 },
    { encoding: 'pcm16', rate: 24000, ff: 's16le', bytes: 2 },
    { encoding: 'pcm16', rate: 8000, ff: 's16le', bytes: 2 },
    { encoding: 'f32', rate: 48000, ff: 'f32le', bytes: 4 },
    { encoding: 'f32', rate: 16000, ff: 'f32le', bytes: 4 },
    { encoding: 'f32', rate: 8000, ff: 'f32le', bytes: 4 },
    { encoding: 'mulaw', rate: 8000, ff: 'mulaw', bytes: 1 },
  ];
  for (const c of cases) {
    it(`${c.encoding} ${c.rate} Hz decodes to the same 16 kHz audio as ffmpeg`, async () => {
      const input = ffmpegRaw(wav, ['-f', c.ff, '-ar', String(c.rate)]);
      // ffmpeg's 16 kHz conversion of exactly these input samples.
      const expected = bytesToInt16(ffmpegRaw('pipe:0', ['-f', 's16le', '-ar', '16000'], ['-f', c.ff, '-ar', String(c.rate)], input));
      const d = await createDecoder({ encoding: c.encoding, sample_rate: c.rate, channels: 1 });
      const inputSamples = input.length / c.bytes;
      expect(d.inputMs(input.subarray(0, 20 * (c.rate / 1000) * c.bytes))).toBe(20);
      const out = decodeAll(d, chunks(input, 333 * c.bytes));
      // Duration: exactly the input's, at 16 kHz.
      expect(out.length).toBe(Math.ceil((inputSamples * 16000) / c.rate));
      expect(Math.abs(out.length - expected.length)).toBeLessThanOrEqual(1);
      // Content: sample-aligned with ffmpeg's resampling (lag 0), near-identical waveform.
      const { r, lag } = bestCorrelation(expected, out, 20);
      expect(lag).toBe(0);
      expect(r).toBeGreaterThan(0.999);
      d.close();
    });
  }

  it('pcm16 at 16 kHz passes through untouched (no resampler) and chunking cannot matter', async () => {
    const input = int16ToBytes(ref);
    const d = await createDecoder({ encoding: 'pcm16', sample_rate: 16000, channels: 1 });
    const out = decodeAll(d, chunks(input, 640));
    expect(out).toEqual(ref);
    expect(d.flush().length).toBe(0);
  });

  for (const samples of [1, 7, 333]) {
    it(`pcm16 48 kHz split every ${samples} samples gives the same samples as one chunk`, async () => {
      const input = int16ToBytes(ref.subarray(0, 24_000)); // treat as 48 kHz audio, 0.5 s
      const whole = decodeAll(await createDecoder({ encoding: 'pcm16', sample_rate: 48000, channels: 1 }), [input]);
      const split = decodeAll(await createDecoder({ encoding: 'pcm16', sample_rate: 48000, channels: 1 }), chunks(input, 2 * samples));
      expect(split).toEqual(whole);
      expect(whole.length).toBe(8000);
    });
  }

  it('bad chunks raise AUDIO_CHUNK_INVALID and the decoder goes on', async () => {
    const pcm = await createDecoder({ encoding: 'pcm16', sample_rate: 48000, channels: 1 });
    const good = int16ToBytes(ref.subarray(0, 960));
    const a = pcm.decode(good);
    expect(expectInvalid(() => pcm.decode(new Uint8Array(641))).message).toMatch(/odd byte count/);
    const b = pcm.decode(good);
    expect(a.length + b.length).toBeGreaterThan(500);

    const f32 = await createDecoder({ encoding: 'f32', sample_rate: 16000, channels: 1 });
    expectInvalid(() => f32.decode(new Uint8Array(6)));
    for (const bad of [NaN, Infinity, -Infinity]) {
      expect(expectInvalid(() => f32.decode(new Uint8Array(new Float32Array([0.1, bad]).buffer))).message).toMatch(/non-finite/);
    }
    expect(Array.from(f32.decode(new Uint8Array(new Float32Array([2, -3, 0.5, -1]).buffer)))).toEqual([32767, -32768, 16384, -32768]);
  });

  it('decodeTransient gives what decode gives; PCM16 at 16 kHz reuses one buffer, odd bytes still refused', async () => {
    const pcm16 = await createDecoder({ encoding: 'pcm16', sample_rate: 16000, channels: 1 });
    const bytes = int16ToBytes(ref.subarray(0, 3200));
    // At an odd offset, as the bytes of an audio.chunk sit in a msgpack frame.
    const framed = new Uint8Array(bytes.length + 1);
    framed.set(bytes, 1);
    const chunk = (k: number): Uint8Array => framed.subarray(1 + k * 640, 1 + (k + 1) * 640);
    const first = pcm16.decodeTransient(chunk(0));
    expect(Array.from(first)).toEqual(Array.from(ref.subarray(0, 320)));
    const second = pcm16.decodeTransient(chunk(1));
    expect(second).toBe(first); // the same view, refilled: no allocation per chunk
    expect(Array.from(second)).toEqual(Array.from(ref.subarray(320, 640)));
    expect(Array.from(pcm16.decodeTransient(framed.subarray(1, 1 + 1280)))).toEqual(Array.from(ref.subarray(0, 640))); // grows
    expect(Array.from(pcm16.decodeTransient(chunk(4)))).toEqual(Array.from(ref.subarray(1280, 1600)));
    expect(expectInvalid(() => pcm16.decodeTransient(new Uint8Array(641))).message).toMatch(/odd byte count/);
    // Other encodings and rates: decode() itself.
    const pcm48 = await createDecoder({ encoding: 'pcm16', sample_rate: 48000, channels: 1 });
    const ref48 = await createDecoder({ encoding: 'pcm16', sample_rate: 48000, channels: 1 });
    expect(Array.from(pcm48.decodeTransient(bytes))).toEqual(Array.from(ref48.decode(bytes)));
  });

  it('inputMs is known from the byte count', async () => {
    expect((await createDecoder({ encoding: 'pcm16', sample_rate: 16000, channels: 1 })).inputMs(new Uint8Array(640))).toBe(20);
    expect((await createDecoder({ encoding: 'f32', sample_rate: 24000, channels: 1 })).inputMs(new Uint8Array(960 * 4))).toBe(40);
    expect((await createDecoder({ encoding: 'mulaw', sample_rate: 8000, channels: 1 })).inputMs(new Uint8Array(160))).toBe(20);
  });
});

describe('opus (raw packets)', () => {
  it('decodes packets encoded by libopus to 16 kHz speech matching the reference', async () => {
    const d = await createDecoder({ encoding: 'opus', sample_rate: 48000, channels: 1 });
    expect(d.inputMs(opusPackets[0] as Uint8Array)).toBe(20);
    const out = decodeAll(d, opusPackets);
    expect(out.length).toBe(opusPackets.length * 320); // 20 ms per packet
    const { r, lag } = bestCorrelation(ref, out, 200);
    // Late by the encoder's look-ahead, 312 samples at 48 kHz = 104 at 16 kHz: raw packets carry
    // no pre-skip to trim.
    expect(Math.abs(lag - 104)).toBeLessThanOrEqual(2);
    expect(r).toBeGreaterThan(0.95);
    expect(pearson(refEnvelope, envelopeDb(out.subarray(Math.max(0, lag))))).toBeGreaterThan(0.95);
    d.close();
    d.close(); // idempotent
  });

  it('a corrupt or empty packet raises AUDIO_CHUNK_INVALID and the next packet decodes', async () => {
    const d = await createDecoder({ encoding: 'opus', sample_rate: 48000, channels: 1 });
    expect(d.decode(opusPackets[10] as Uint8Array).length).toBe(320);
    expect(expectInvalid(() => d.decode(new Uint8Array([0x03, 0xff]))).message).toMatch(/corrupt Opus packet/);
    expect(expectInvalid(() => d.decode(new Uint8Array([0x01, 1, 2, 3]))).message).toMatch(/corrupt Opus packet/); // code 1, odd payload
    expect(expectInvalid(() => d.decode(new Uint8Array(0))).message).toMatch(/empty/);
    expect(d.decode(opusPackets[11] as Uint8Array).length).toBe(320);
    d.close();
  });

  it('many decoders alive at once stay independent (shared WASM heap grows)', async () => {
    // opusscript's own JS class breaks here: it writes output at twice its buffer's address and
    // its views detach when the heap grows.
    const decoders = await Promise.all(Array.from({ length: 300 }, () => createDecoder({ encoding: 'opus', sample_rate: 48000, channels: 1 })));
    const a = decoders[0]!;
    const b = decoders[299]!;
    const fromA = decodeAll(a, opusPackets.slice(0, 50));
    const fromB = decodeAll(b, opusPackets.slice(0, 50));
    expect(fromB).toEqual(fromA);
    const fresh = await createDecoder({ encoding: 'opus', sample_rate: 48000, channels: 1 });
    expect(decodeAll(fresh, opusPackets.slice(0, 50))).toEqual(fromA);
    for (const d of [...decoders, fresh]) d.close();
  });
});

describe('ogg_opus and webm_opus (MediaRecorder-style containers)', () => {
  const containers = [
    { encoding: 'ogg_opus', ext: 'ogg' },
    { encoding: 'webm_opus', ext: 'webm' },
  ] as const;
  for (const c of containers) {
    it(`${c.encoding}: right duration and content; split at 1, 7, 333 bytes gives the same samples`, async () => {
      const file = ffmpeg(wav, ['-ar', '48000', '-c:a', 'libopus', '-b:a', '24k'], `${tmp.dir}/speech.${c.ext}`);
      const bytes = new Uint8Array(readFileSync(file));
      const decode = async (size: number): Promise<Int16Array> => {
        const d = await createDecoder({ encoding: c.encoding, sample_rate: 48000, channels: 1 });
        expect(d.inputMs(bytes.subarray(0, 10))).toBeUndefined();
        const out = decodeAll(d, chunks(bytes, size));
        d.close();
        return out;
      };
      const whole = await decode(bytes.length);
      // Pre-skip trimmed: aligned with the source. Ogg: the last packet's padding stays (+≤20 ms);
      // WebM: ffmpeg writes the last packet in a BlockGroup, which is skipped (−20 ms).
      const diffMs = (whole.length - ref.length) / 16;
      expect(diffMs).toBeGreaterThanOrEqual(-20);
      expect(diffMs).toBeLessThanOrEqual(20);
      const { r, lag } = bestCorrelation(ref, whole, 100);
      expect(Math.abs(lag)).toBeLessThanOrEqual(2);
      expect(r).toBeGreaterThan(0.95);
      expect(pearson(refEnvelope, envelopeDb(whole))).toBeGreaterThan(0.95);
      for (const size of [1, 7, 333]) expect(await decode(size)).toEqual(whole);
    });
  }
});

describe('createDecoder', () => {
  it('rejects unsupported formats with AUDIO_FORMAT_UNSUPPORTED', async () => {
    await expect(createDecoder({ encoding: 'pcm16', sample_rate: 44100, channels: 1 })).rejects.toMatchObject({ code: 'AUDIO_FORMAT_UNSUPPORTED' });
    await expect(createDecoder({ encoding: 'pcm16', sample_rate: 16000, channels: 2 })).rejects.toMatchObject({ code: 'AUDIO_FORMAT_UNSUPPORTED' });
  });

  it('closing a resampling decoder frees its resampler (speex state), once', async () => {
    const close = vi.spyOn(Resampler.prototype, 'close');
    try {
      for (const f of [
        { encoding: 'pcm16', sample_rate: 48000 },
        { encoding: 'f32', sample_rate: 24000 },
        { encoding: 'mulaw', sample_rate: 8000 },
      ] as const) {
        const d = await createDecoder({ ...f, channels: 1 });
        d.close();
        d.close();
      }
      expect(close).toHaveBeenCalledTimes(3);
      (await createDecoder({ encoding: 'pcm16', sample_rate: 16000, channels: 1 })).close(); // owns none
      expect(close).toHaveBeenCalledTimes(3);
    } finally {
      close.mockRestore();
    }
  });

  it('a closed decoder refuses further chunks', async () => {
    const d = await createDecoder({ encoding: 'pcm16', sample_rate: 16000, channels: 1 });
    d.close();
    expect(() => d.decode(new Uint8Array(2))).toThrow(/closed/);
    expect(d.flush().length).toBe(0);
  });
});

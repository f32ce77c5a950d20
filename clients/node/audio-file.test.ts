// Audio files: WAV headers walked by hand (fmt/data anywhere, padding, WAVE_FORMAT_EXTENSIBLE,
// streamed sizes) and files made with espeak-ng and ffmpeg — WAVs the gateway takes are sent byte
// for byte, everything else is decoded by ffmpeg to PCM16 16 kHz; clear errors for unreadable
// files, undecodable files and a missing ffmpeg.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import prism from 'prism-media';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openAudioFile, openAudioStream, readWavInfo, type AudioInput } from './audio-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'vlp-audio-file-'));
const at = (name: string): string => join(dir, name);
const ffmpeg = (...args: string[]): void => void execFileSync('ffmpeg', ['-nostdin', '-y', '-loglevel', 'error', ...args]);

async function drain(a: AudioInput): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of a.stream) parts.push(c);
  return Buffer.concat(parts);
}

function bufferReader(b: Uint8Array) {
  return async (offset: number, length: number): Promise<Uint8Array> => b.subarray(offset, offset + length);
}

/** A RIFF/WAVE file from chunks [id, body] (odd bodies padded). */
function riff(chunks: [string, Uint8Array][]): Uint8Array {
  const parts: Buffer[] = [];
  for (const [id, body] of chunks) {
    const h = Buffer.alloc(8);
    h.write(id, 0, 'ascii');
    h.writeUInt32LE(body.length, 4);
    parts.push(h, Buffer.from(body));
    if (body.length % 2 === 1) parts.push(Buffer.alloc(1));
  }
  const inner = Buffer.concat(parts);
  const head = Buffer.alloc(12);
  head.write('RIFF', 0, 'ascii');
  head.writeUInt32LE(4 + inner.length, 4);
  head.write('WAVE', 8, 'ascii');
  return Buffer.concat([head, inner]);
}

function fmt(tag: number, channels: number, rate: number, bits: number, ext?: { validBits: number; subTag: number }): Uint8Array {
  const b = Buffer.alloc(ext === undefined ? 16 : 40);
  b.writeUInt16LE(ext === undefined ? tag : 0xfffe, 0);
  b.writeUInt16LE(channels, 2);
  b.writeUInt32LE(rate, 4);
  b.writeUInt32LE((rate * channels * bits) / 8, 8);
  b.writeUInt16LE((channels * bits) / 8, 12);
  b.writeUInt16LE(bits, 14);
  if (ext !== undefined) {
    b.writeUInt16LE(22, 16);
    b.writeUInt16LE(ext.validBits, 18);
    b.writeUInt32LE(4, 20);
    b.writeUInt16LE(ext.subTag, 24);
    Buffer.from([0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71]).copy(b, 26);
  }
  return b;
}

describe('readWavInfo', () => {
  it('walks chunks: LIST with an odd size before fmt, fact between fmt and data', async () => {
    const data = Uint8Array.from({ length: 640 }, (_, i) => i & 0xff);
    const wav = riff([['LIST', new Uint8Array(13)], ['fmt ', fmt(1, 1, 16_000, 16)], ['fact', new Uint8Array(4)], ['data', data]]);
    const info = await readWavInfo(bufferReader(wav), wav.length);
    expect(info).toMatchObject({ encoding: 'pcm16', formatTag: 1, channels: 1, sampleRate: 16_000, bitsPerSample: 16, dataBytes: 640 });
    expect(new Uint8Array(wav.subarray(info?.dataOffset, (info?.dataOffset ?? 0) + 640))).toEqual(data);
  });

  it('understands WAVE_FORMAT_EXTENSIBLE (PCM and float subformats) and µ-law', async () => {
    const d = new Uint8Array(64);
    const ext = async (subTag: number, bits: number, validBits = bits, rate = 48_000) => {
      const wav = riff([['fmt ', fmt(0, 1, rate, bits, { validBits, subTag })], ['data', d]]);
      return (await readWavInfo(bufferReader(wav), wav.length))?.encoding;
    };
    expect(await ext(1, 16)).toBe('pcm16');
    expect(await ext(3, 32)).toBe('f32');
    expect(await ext(1, 24)).toBeUndefined(); // 24-bit: ffmpeg
    expect(await ext(1, 24, 20)).toBeUndefined();
    const mulaw = riff([['fmt ', fmt(7, 1, 8_000, 8)], ['data', d]]);
    expect((await readWavInfo(bufferReader(mulaw), mulaw.length))?.encoding).toBe('mulaw');
  });

  it('leaves what the gateway cannot take to ffmpeg', async () => {
    const d = new Uint8Array(64);
    const enc = async (f: Uint8Array) => {
      const wav = riff([['fmt ', f], ['data', d]]);
      return (await readWavInfo(bufferReader(wav), wav.length))?.encoding;
    };
    expect(await enc(fmt(1, 2, 16_000, 16))).toBeUndefined(); // stereo
    expect(await enc(fmt(1, 1, 22_050, 16))).toBeUndefined();
    expect(await enc(fmt(1, 1, 44_100, 16))).toBeUndefined();
    expect(await enc(fmt(1, 1, 16_000, 8))).toBeUndefined(); // 8-bit unsigned
    expect(await enc(fmt(3, 1, 16_000, 64))).toBeUndefined(); // double
    expect(await readWavInfo(bufferReader(Buffer.from('ID3 not a wav at all')), 20)).toBeUndefined();
    const noData = riff([['fmt ', fmt(1, 1, 16_000, 16)]]);
    expect(await readWavInfo(bufferReader(noData), noData.length)).toBeUndefined();
  });

  it('reads an unset (streamed) data size as "to the end of the file"', async () => {
    const wav = Buffer.from(riff([['fmt ', fmt(1, 1, 16_000, 16)], ['data', new Uint8Array(100)]]));
    wav.writeUInt32LE(0xffffffff, wav.length - 100 - 4);
    expect((await readWavInfo(bufferReader(wav), wav.length))?.dataBytes).toBe(100);
    wav.writeUInt32LE(0, wav.length - 100 - 4);
    expect((await readWavInfo(bufferReader(wav), wav.length))?.dataBytes).toBe(100);
  });
});

describe('openAudioFile', () => {
  beforeAll(() => {
    execFileSync('espeak-ng', ['-w', at('speech.wav'), 'what is the capital of France']); // 22050 Hz mono PCM16
    ffmpeg('-i', at('speech.wav'), '-ar', '16000', '-ac', '1', '-c:a', 'pcm_s16le', at('pcm16.wav'));
    ffmpeg('-i', at('speech.wav'), '-ar', '48000', '-ac', '1', '-c:a', 'pcm_f32le', at('f32.wav')); // WAVE_FORMAT_EXTENSIBLE
    ffmpeg('-i', at('speech.wav'), '-ar', '8000', '-ac', '1', '-c:a', 'pcm_mulaw', at('mulaw.wav'));
    ffmpeg('-i', at('speech.wav'), '-ar', '44100', '-ac', '2', at('stereo.wav'));
    ffmpeg('-i', at('speech.wav'), at('speech.mp3'));
    ffmpeg('-i', at('speech.wav'), '-c:a', 'libopus', at('speech.ogg'));
    writeFileSync(at('notes.txt'), 'this is not audio\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Duration of the espeak file, ms. */
  const speechMs = (): number => {
    const wav = readFileSync(at('pcm16.wav'));
    return ((wav.length - 44) / 32_000) * 1000;
  };

  it('sends a 16 kHz PCM16 WAV as is', async () => {
    const a = await openAudioFile(at('pcm16.wav'));
    expect(a.format).toEqual({ encoding: 'pcm16', sample_rate: 16_000, channels: 1 });
    expect(a.source).toBe('wav');
    const out = await drain(a);
    const file = readFileSync(at('pcm16.wav'));
    expect(out.equals(file.subarray(file.length - out.length))).toBe(true);
    expect(a.durationMs).toBe(Math.round(out.length / 32));
    expect(a.durationMs).toBeGreaterThan(1_000);
  });

  it('sends a float32 WAV (WAVE_FORMAT_EXTENSIBLE) as f32 and µ-law as mulaw', async () => {
    const f = await openAudioFile(at('f32.wav'));
    expect(f.format).toEqual({ encoding: 'f32', sample_rate: 48_000, channels: 1 });
    expect(f.source).toBe('wav');
    const samples = await drain(f);
    expect(samples.length % 4).toBe(0);
    expect(Math.abs((samples.length / 192) - speechMs())).toBeLessThan(5);
    const m = await openAudioFile(at('mulaw.wav'));
    expect(m.format).toEqual({ encoding: 'mulaw', sample_rate: 8_000, channels: 1 });
    expect(Math.abs((await drain(m)).length / 8 - speechMs())).toBeLessThan(5);
  });

  it.each(['speech.wav', 'stereo.wav', 'speech.mp3', 'speech.ogg'])('decodes %s with ffmpeg to PCM16 16 kHz mono', async (name) => {
    const a = await openAudioFile(at(name));
    expect(a.format).toEqual({ encoding: 'pcm16', sample_rate: 16_000, channels: 1 });
    expect(a.source).toBe('ffmpeg');
    const pcm = await drain(a);
    expect(pcm.length % 2).toBe(0);
    // mp3 pads a few ms; the length is the speech's, give or take 100 ms.
    expect(Math.abs(pcm.length / 32 - speechMs())).toBeLessThan(100);
    const samples = new Int16Array(pcm.buffer, pcm.byteOffset, pcm.length / 2);
    expect(samples.some((v) => Math.abs(v) > 1_000)).toBe(true); // speech, not silence
  });

  it('treats a file as raw audio when given a format', async () => {
    const a = await openAudioFile(at('pcm16.wav'), { format: { encoding: 'pcm16', sample_rate: 16_000, channels: 1 } });
    expect(a.source).toBe('raw');
    expect((await drain(a)).equals(readFileSync(at('pcm16.wav')))).toBe(true);
  });

  it('fails clearly for missing, unreadable and undecodable files', async () => {
    await expect(openAudioFile(at('nope.wav'))).rejects.toMatchObject({ code: 'CLIENT_AUDIO_INVALID', message: expect.stringMatching(/no such file/) });
    await expect(openAudioFile(dir)).rejects.toMatchObject({ code: 'CLIENT_AUDIO_INVALID' });
    await expect(openAudioFile(at('notes.txt'))).rejects.toMatchObject({ code: 'CLIENT_AUDIO_INVALID', message: expect.stringMatching(/ffmpeg could not decode/) });
  });

  it('says so when ffmpeg is missing', async () => {
    const spy = vi.spyOn(prism.FFmpeg, 'getInfo').mockImplementation(() => {
      throw new Error('FFmpeg/avconv not found!');
    });
    try {
      await expect(openAudioFile(at('speech.mp3'))).rejects.toMatchObject({ code: 'CLIENT_FFMPEG_NOT_FOUND', message: expect.stringMatching(/needs ffmpeg/) });
      // A WAV the gateway takes as is needs no ffmpeg.
      expect((await openAudioFile(at('pcm16.wav'))).source).toBe('wav');
    } finally {
      spy.mockRestore();
    }
  });

  it('close() before reading ends the stream', async () => {
    const a = await openAudioFile(at('speech.mp3'));
    a.close();
    const rest = await drain(a);
    expect(rest.length).toBeLessThanOrEqual(64 * 1024); // at most the chunk read before close
  });
});

describe('openAudioStream', () => {
  it('passes raw bytes through with a format, and decodes with ffmpeg without one', async () => {
    const raw = openAudioStream(Readable.from([Buffer.from([1, 2, 3, 4])]), { encoding: 'pcm16', sample_rate: 16_000, channels: 1 });
    expect(raw.source).toBe('raw');
    expect([...(await drain(raw))]).toEqual([1, 2, 3, 4]);

    const mp3dir = mkdtempSync(join(tmpdir(), 'vlp-audio-stdin-'));
    try {
      ffmpeg('-f', 'lavfi', '-i', 'sine=frequency=300:duration=1', '-ac', '1', join(mp3dir, 'tone.mp3'));
      const mp3 = readFileSync(join(mp3dir, 'tone.mp3'));
      const a = openAudioStream(Readable.from([mp3.subarray(0, 1000), mp3.subarray(1000)]));
      expect(a.format).toEqual({ encoding: 'pcm16', sample_rate: 16_000, channels: 1 });
      const pcm = await drain(a);
      expect(Math.abs(pcm.length / 32 - 1_000)).toBeLessThan(100);
    } finally {
      rmSync(mp3dir, { recursive: true, force: true });
    }
  });
});

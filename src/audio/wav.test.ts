import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeWavPcm16, parseWav } from './wav.ts';
import { bytesToInt16, ffmpeg, ffmpegRaw, run, speak, tempDir, tone } from './audio.testkit.ts';

let tmp: ReturnType<typeof tempDir>;
let speech: string;

beforeAll(() => {
  tmp = tempDir();
  speech = speak(`${tmp.dir}/speech.wav`, 'Reading wave files.');
});
afterAll(() => tmp.cleanup());

const read = (path: string) => new Uint8Array(readFileSync(path));

/** A WAV file from parts: fmt body, then extra chunks, then data. */
function wavFile(fmtBody: Uint8Array, data: Uint8Array, extra: { id: string; body: Uint8Array }[] = []): Uint8Array {
  const chunks = [{ id: 'fmt ', body: fmtBody }, ...extra, { id: 'data', body: data }];
  let size = 12;
  for (const c of chunks) size += 8 + c.body.length + (c.body.length % 2);
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  const ascii = (at: number, s: string) => [...s].forEach((ch, i) => dv.setUint8(at + i, ch.charCodeAt(0)));
  ascii(0, 'RIFF');
  dv.setUint32(4, size - 8, true);
  ascii(8, 'WAVE');
  let at = 12;
  for (const c of chunks) {
    ascii(at, c.id);
    dv.setUint32(at + 4, c.body.length, true);
    out.set(c.body, at + 8);
    at += 8 + c.body.length + (c.body.length % 2);
  }
  return out;
}

function fmtBody(o: { code: number; channels?: number; rate?: number; bits: number; extensible?: number }): Uint8Array {
  const ext = o.extensible !== undefined;
  const b = new Uint8Array(ext ? 40 : 16);
  const dv = new DataView(b.buffer);
  const channels = o.channels ?? 1;
  const rate = o.rate ?? 16000;
  dv.setUint16(0, ext ? 0xfffe : o.code, true);
  dv.setUint16(2, channels, true);
  dv.setUint32(4, rate, true);
  dv.setUint32(8, (rate * channels * o.bits) / 8, true);
  dv.setUint16(12, (channels * o.bits) / 8, true);
  dv.setUint16(14, o.bits, true);
  if (ext) {
    dv.setUint16(16, 22, true);
    dv.setUint16(18, o.bits, true);
    dv.setUint32(20, 4, true);
    dv.setUint16(24, o.extensible as number, true);
    b.set([0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71], 26);
  }
  return b;
}

describe('parseWav', () => {
  it('reads espeak-ng output (PCM16 22 050 Hz) — the samples ffmpeg reads', () => {
    const w = parseWav(read(speech));
    expect(w).toMatchObject({ sampleRate: 22050, channels: 1, bitsPerSample: 16, format: 'pcm' });
    const samples = new Int16Array(w.data.slice().buffer);
    expect(samples).toEqual(bytesToInt16(ffmpegRaw(speech, ['-f', 's16le'])));
  });

  it('reads float32 and µ-law files written by ffmpeg', () => {
    const f = parseWav(read(ffmpeg(speech, ['-c:a', 'pcm_f32le', '-ar', '48000'], `${tmp.dir}/f.wav`)));
    expect(f).toMatchObject({ sampleRate: 48000, bitsPerSample: 32, format: 'float' });
    expect(f.data.length % 4).toBe(0);
    const m = parseWav(read(ffmpeg(speech, ['-c:a', 'pcm_mulaw', '-ar', '8000'], `${tmp.dir}/m.wav`)));
    expect(m).toMatchObject({ sampleRate: 8000, bitsPerSample: 8, format: 'mulaw' });
  });

  it('reads WAVE_FORMAT_EXTENSIBLE (ffmpeg writes it for 24-bit) and skips unknown chunks', () => {
    const w = parseWav(read(ffmpeg(speech, ['-c:a', 'pcm_s24le', '-ac', '3'], `${tmp.dir}/e.wav`)));
    expect(w).toMatchObject({ channels: 3, bitsPerSample: 24, format: 'pcm' });
    const floatExt = parseWav(wavFile(fmtBody({ code: 0, bits: 32, extensible: 3 }), new Uint8Array(8), [{ id: 'LIST', body: new Uint8Array(7) }]));
    expect(floatExt).toMatchObject({ format: 'float', bitsPerSample: 32 });
    expect(floatExt.data.length).toBe(8);
  });

  it('takes a streamed file (data size unknown) to its end, whole frames only', () => {
    const file = wavFile(fmtBody({ code: 1, bits: 16 }), new Uint8Array(10));
    new DataView(file.buffer).setUint32(40, 0xffffffff, true);
    expect(parseWav(file.subarray(0, file.length - 1)).data.length).toBe(8);
  });

  it('refuses what it cannot read, saying why', () => {
    expect(() => parseWav(new Uint8Array(4))).toThrow(/not a WAV file/);
    expect(() => parseWav(new TextEncoder().encode('RIFF\0\0\0\0AVI LIST'))).toThrow(/no RIFF\/WAVE header/);
    expect(() => parseWav(wavFile(fmtBody({ code: 2, bits: 4 }), new Uint8Array(4)))).toThrow(/format code 0x0002 is not supported/);
    expect(() => parseWav(wavFile(fmtBody({ code: 1, bits: 12 }), new Uint8Array(4)))).toThrow(/12 bits/);
    expect(() => parseWav(wavFile(fmtBody({ code: 3, bits: 16 }), new Uint8Array(4)))).toThrow(/float with 16 bits/);
    expect(() => parseWav(wavFile(fmtBody({ code: 1, bits: 16, channels: 0 }), new Uint8Array(4)))).toThrow(/0 channels/);
    expect(() => parseWav(wavFile(new Uint8Array(10), new Uint8Array(4)))).toThrow(/fmt chunk is 10 bytes/);
    const badAlign = fmtBody({ code: 1, bits: 16 });
    new DataView(badAlign.buffer).setUint16(12, 3, true);
    expect(() => parseWav(wavFile(badAlign, new Uint8Array(4)))).toThrow(/block align 3/);
    const badGuid = fmtBody({ code: 0, bits: 16, extensible: 1 });
    badGuid[30] = 0x11;
    expect(() => parseWav(wavFile(badGuid, new Uint8Array(4)))).toThrow(/GUID/);
    const noData = wavFile(fmtBody({ code: 1, bits: 16 }), new Uint8Array(0)).subarray(0, 36);
    expect(() => parseWav(noData)).toThrow(/no data chunk/);
  });
});

describe('encodeWavPcm16', () => {
  it('round-trips and is read by ffmpeg as the same samples', () => {
    const samples = tone(440, 16000, 1601);
    const file = encodeWavPcm16(samples, 16000);
    const w = parseWav(file);
    expect(w).toMatchObject({ sampleRate: 16000, channels: 1, bitsPerSample: 16, format: 'pcm' });
    expect(new Int16Array(w.data.slice().buffer)).toEqual(samples);
    const viaFfmpeg = bytesToInt16(new Uint8Array(run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'wav', '-i', 'pipe:0', '-f', 's16le', '-'], file)));
    expect(viaFfmpeg).toEqual(samples);
  });

  it('refuses a bad rate', () => {
    expect(() => encodeWavPcm16(new Int16Array(1), 0)).toThrow(RangeError);
  });
});

// Byte-exact serialisation helpers of the simulated ASR services: Python's json.dumps, the
// whisper writers (txt/vtt/srt/tsv), urllib's quote, and WAV reading.
import { describe, expect, it } from 'vitest';
import { formatTimestamp, writeOutput, type EngineResult } from './asr-output.ts';
import { pyFloat, pyJson, PyFloat } from './pyjson.ts';
import { encodeWav, parseWav, resample, wavTo16kMono, WavError } from './wav.ts';
import { pyQuote } from './whisper-asr.ts';

describe('pyJson (Python json.dumps)', () => {
  it('spaces after separators, ASCII-only output, Python float repr', () => {
    // Expected strings produced by CPython 3 json.dumps.
    expect(pyJson({ a: '这张？', b: [new PyFloat(1), 0.25, 1e-5, 2.48, new PyFloat(1e16)], c: null, d: true, e: '\u007f\u00e9\u{1F642}' })).toBe(
      '{"a": "\\u8fd9\\u5f20\\uff1f", "b": [1.0, 0.25, 1e-05, 2.48, 1e+16], "c": null, "d": true, "e": "\\u007f\\u00e9\\ud83d\\ude42"}',
    );
    expect(pyFloat(0.1 + 0.2)).toBe('0.30000000000000004');
    expect(pyFloat(-0)).toBe('-0.0');
    expect(pyFloat(123456.5)).toBe('123456.5');
    expect(pyJson({ skipped: undefined, n: 3 })).toBe('{"n": 3}');
  });
});

const RESULT: EngineResult = {
  text: ' First one. Second -- one --> here.',
  language: 'en',
  segments: [
    { id: 0, seek: 0, start: 0.3, end: 1.88, text: ' First one.', tokens: [], temperature: 0, avg_logprob: -0.2, compression_ratio: 0.9, no_speech_prob: 0.01 },
    { id: 1, seek: 0, start: 3725.5, end: 3727.125, text: ' Second -- one --> here.', tokens: [], temperature: 0, avg_logprob: -0.2, compression_ratio: 0.9, no_speech_prob: 0.01 },
  ],
};

describe('whisper writers', () => {
  it('format_timestamp', () => {
    expect(formatTimestamp(0.3)).toBe('00:00.300');
    expect(formatTimestamp(3725.5)).toBe('01:02:05.500');
    expect(formatTimestamp(1.88, true, ',')).toBe('00:00:01,880');
  });

  it('txt, vtt, srt, tsv', () => {
    expect(writeOutput('openai_whisper', RESULT, 'txt')).toBe('First one.\nSecond -- one --> here.\n');
    expect(writeOutput('openai_whisper', RESULT, 'vtt')).toBe('WEBVTT\n\n00:00.300 --> 00:01.880\nFirst one.\n\n01:02:05.500 --> 01:02:07.125\nSecond -- one -> here.\n\n');
    expect(writeOutput('faster_whisper', RESULT, 'srt')).toBe('1\n00:00:00,300 --> 00:00:01,880\nFirst one.\n\n2\n01:02:05,500 --> 01:02:07,125\nSecond -- one -> here.\n\n');
    expect(writeOutput('openai_whisper', RESULT, 'tsv')).toBe('start\tend\ttext\n300\t1880\tFirst one.\n3725500\t3727125\tSecond -- one --> here.\n');
    expect(writeOutput('openai_whisper', RESULT, 'anything-else')).toBe(writeOutput('openai_whisper', RESULT, 'txt'));
  });

  it('openai subtitles from words break on a pause over 3 s', () => {
    const withWords: EngineResult = {
      ...RESULT,
      segments: [
        { ...(RESULT.segments[0] as EngineResult['segments'][number]), words: [{ word: ' First', start: 0.3, end: 0.9, probability: 0.9 }, { word: ' one.', start: 0.9, end: 1.88, probability: 0.9 }] },
        { ...(RESULT.segments[0] as EngineResult['segments'][number]), start: 2, end: 2.5, words: [{ word: ' Two.', start: 2, end: 2.5, probability: 0.9 }] },
        { ...(RESULT.segments[0] as EngineResult['segments'][number]), start: 9, end: 9.5, words: [{ word: ' Late.', start: 9, end: 9.5, probability: 0.9 }] },
      ],
    };
    expect(writeOutput('openai_whisper', withWords, 'vtt')).toBe('WEBVTT\n\n00:00.300 --> 00:02.500\nFirst one. Two.\n\n00:09.000 --> 00:09.500\nLate.\n\n');
  });

  it('pyQuote matches urllib.parse.quote', () => {
    expect(pyQuote('my clip (1).wav')).toBe('my%20clip%20%281%29.wav');
    expect(pyQuote('a/b~c_d-e.f')).toBe('a/b~c_d-e.f');
    expect(pyQuote('é.wav')).toBe('%C3%A9.wav');
  });
});

function wavHeader(format: number, channels: number, rate: number, bits: number, data: Buffer, extensible = false): Buffer {
  const fmtLen = extensible ? 40 : 16;
  const fmt = Buffer.alloc(8 + fmtLen);
  fmt.write('fmt ', 0, 'ascii');
  fmt.writeUInt32LE(fmtLen, 4);
  fmt.writeUInt16LE(extensible ? 0xfffe : format, 8);
  fmt.writeUInt16LE(channels, 10);
  fmt.writeUInt32LE(rate, 12);
  fmt.writeUInt32LE((rate * channels * bits) / 8, 16);
  fmt.writeUInt16LE((channels * bits) / 8, 20);
  fmt.writeUInt16LE(bits, 22);
  if (extensible) fmt.writeUInt16LE(format, 32); // SubFormat GUID starts with the format code
  const list = Buffer.from('LIST\x04\x00\x00\x00INFO', 'latin1');
  const dataHdr = Buffer.alloc(8);
  dataHdr.write('data', 0, 'ascii');
  dataHdr.writeUInt32LE(data.length, 4);
  const riff = Buffer.alloc(12);
  riff.write('RIFF', 0, 'ascii');
  riff.writeUInt32LE(4 + fmt.length + list.length + 8 + data.length, 4);
  riff.write('WAVE', 8, 'ascii');
  return Buffer.concat([riff, fmt, list, dataHdr, data]);
}

describe('WAV', () => {
  it('reads PCM16, float32 stereo (extensible), 8-bit, and skips other chunks', () => {
    const pcm = encodeWav(Int16Array.from([0, 16384, -32768]), 16000);
    expect(Array.from(parseWav(pcm).data)).toEqual([0, 0.5, -1]);
    const f = Buffer.alloc(16);
    [0.5, -0.5, 0.25, 0.75].forEach((v, i) => f.writeFloatLE(v, i * 4));
    const stereo = parseWav(wavHeader(3, 2, 48000, 32, f, true));
    expect(stereo).toMatchObject({ sampleRate: 48000, channels: 2 });
    expect(Array.from(stereo.data)).toEqual([0.5, -0.5, 0.25, 0.75]);
    expect(Array.from(parseWav(wavHeader(1, 1, 8000, 8, Buffer.from([128, 255, 0]))).data)).toEqual([0, 127 / 128, -1]);
    expect(() => parseWav(Buffer.from('RIFF\0\0\0\0WAVEjunk'))).toThrow(WavError);
    expect(() => parseWav(Buffer.from('not a wav'))).toThrow(WavError);
  });

  it('resamples to 16 kHz mono keeping a tone’s level', () => {
    const n = 48_000;
    const tone = new Float32Array(n * 2);
    for (let i = 0; i < n; i++) tone[2 * i] = tone[2 * i + 1] = 0.5 * Math.sin((2 * Math.PI * 440 * i) / 48_000);
    const out = wavTo16kMono({ sampleRate: 48_000, channels: 2, data: tone });
    expect(out.length).toBe(16_000);
    let ss = 0;
    for (let i = 1000; i < 15_000; i++) ss += (out[i] as number) ** 2;
    expect(Math.sqrt(ss / 14_000)).toBeCloseTo(0.5 / Math.SQRT2, 2);
    expect(resample(new Float32Array(10), 16_000, 16_000).length).toBe(10);
  });
});

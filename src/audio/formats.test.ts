import { describe, expect, it } from 'vitest';
import { VlpError } from '../../protocol/errors.ts';
import type { AudioEncoding, AudioFormat } from '../../protocol/messages.ts';
import { bytesPerSample, checkFormat } from './formats.ts';
import { thrown } from './audio.testkit.ts';

const f = (encoding: AudioEncoding, sample_rate: number, channels = 1): AudioFormat => ({ encoding, sample_rate, channels });

function rejection(format: AudioFormat): string {
  const err = thrown(() => checkFormat(format));
  expect(err).toBeInstanceOf(VlpError);
  expect((err as VlpError).code).toBe('AUDIO_FORMAT_UNSUPPORTED');
  return (err as VlpError).message;
}

describe('checkFormat', () => {
  it('accepts the SPEC rates of each encoding', () => {
    for (const enc of ['pcm16', 'f32', 'opus', 'ogg_opus', 'webm_opus'] as const) {
      for (const rate of [8000, 16000, 24000, 48000]) expect(() => checkFormat(f(enc, rate))).not.toThrow();
    }
    expect(() => checkFormat(f('mulaw', 8000))).not.toThrow();
  });

  it('refuses other rates, saying which are supported', () => {
    expect(rejection(f('pcm16', 44100))).toBe('pcm16 audio at 44100 Hz is not supported; use 8000, 16000, 24000, 48000 Hz');
    expect(rejection(f('f32', 22050))).toMatch(/f32 audio at 22050 Hz/);
    expect(rejection(f('mulaw', 16000))).toBe('mulaw audio at 16000 Hz is not supported; use 8000 Hz');
    expect(rejection(f('opus', 12000))).toMatch(/opus audio at 12000 Hz/);
    expect(rejection(f('webm_opus', 44100))).toMatch(/webm_opus/);
    expect(rejection(f('pcm16', 0))).toMatch(/0 Hz/);
  });

  it('refuses anything but mono', () => {
    expect(rejection(f('pcm16', 16000, 2))).toBe('audio must be mono (channels 1), got channels 2');
    expect(rejection(f('opus', 48000, 0))).toMatch(/mono/);
  });

  it('refuses an unknown encoding', () => {
    expect(rejection(f('aac' as AudioEncoding, 48000))).toMatch(/unknown audio encoding "aac"/);
  });

  it('knows the sample size of the fixed-size encodings', () => {
    expect(bytesPerSample('pcm16')).toBe(2);
    expect(bytesPerSample('f32')).toBe(4);
    expect(bytesPerSample('mulaw')).toBe(1);
    expect(bytesPerSample('ogg_opus')).toBeUndefined();
  });
});

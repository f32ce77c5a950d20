// SpeexDSP (quality 7) through resample.ts. Thresholds are what that quality achieves, with margin
// (the numbers in resample.ts's header): flat to 7.2 kHz, −2 dB at 7.5 kHz, stopband from 8 kHz at
// ≈−100 dB (PCM16 rounding limits what a tone at −10 dBFS can show to ≈−85 dB, so −70 is checked).
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { RESAMPLER_QUALITY, Resampler, createResampler, loadSpeexResampler } from './resample.ts';
import { concat16, rms, tone } from './audio.testkit.ts';

beforeAll(async () => {
  await loadSpeexResampler();
});

function convert(inRate: number, input: Int16Array): Int16Array {
  const r = new Resampler(inRate);
  const out = concat16([r.process(input), r.flush()]);
  r.close();
  return out;
}

/** Output level of a tone relative to its input level, dB (steady-state middle part). */
function gainDb(inRate: number, freq: number): number {
  const input = tone(freq, inRate, inRate, 10_000);
  const out = convert(inRate, input);
  return 20 * Math.log10(rms(out, 2000, 14_000) / rms(input) + 1e-12);
}

/** Not a pure tone: a 440 Hz tone with bits flipped every 97 samples. */
function roughSignal(rate: number, n: number): Int16Array {
  const input = tone(440, rate, n);
  for (let i = 0; i < input.length; i += 97) input[i] = (input[i] as number) ^ 0x155;
  return input;
}

function inChunks(r: Resampler, input: Int16Array, size: number): Int16Array {
  const parts: Int16Array[] = [];
  for (let i = 0; i < input.length; i += size) parts.push(r.process(input.subarray(i, i + size)));
  parts.push(r.flush());
  return concat16(parts);
}

describe('Resampler 48 kHz → 16 kHz', () => {
  it(`uses SpeexDSP quality ${RESAMPLER_QUALITY}, SIMD build on this Node`, async () => {
    expect(RESAMPLER_QUALITY).toBe(7);
    expect((await loadSpeexResampler()).build).toBe('simd');
    const r = new Resampler(48000);
    expect(r.quality).toBe(7);
    expect(r.latencySamples).toBe(192); // half of 3 × 128 taps
    r.close();
  });

  it('passes speech frequencies untouched', () => {
    for (const f of [100, 1000, 3000, 6000, 6900, 7200]) expect(Math.abs(gainDb(48000, f))).toBeLessThan(0.05);
  });

  it('rolls off between 7.2 and 8 kHz (−2 dB at 7.5 kHz)', () => {
    expect(gainDb(48000, 7500)).toBeGreaterThan(-3);
    expect(gainDb(48000, 7500)).toBeLessThan(-1);
    expect(gainDb(48000, 7800)).toBeLessThan(-20);
  });

  it('filters out what would alias (dropping 2 of 3 samples would keep all of it)', () => {
    for (const f of [8200, 9000, 10_000, 12_500, 15_000, 20_000]) expect(gainDb(48000, f)).toBeLessThan(-70);
    // The naive decimator, for contrast: a 9 kHz tone comes out as a full-level 7 kHz tone.
    const input = tone(9000, 48000, 48000);
    const dropped = input.filter((_, i) => i % 3 === 0);
    expect(20 * Math.log10(rms(dropped) / rms(input))).toBeGreaterThan(-0.1);
  });

  it('keeps time: output sample j is the input at j/16000 s (no delay), from every rate', () => {
    // 937 Hz: no whole number of periods fits in a few ms, so a delay would show.
    const ideal = tone(937, 16000, 16000);
    for (const rate of [48000, 24000, 8000]) {
      const out = convert(rate, tone(937, rate, rate));
      let err = 0;
      for (let i = 500; i < 15_500; i++) err = Math.max(err, Math.abs((out[i] as number) - (ideal[i] as number)));
      expect(err).toBeLessThanOrEqual(2);
    }
  });

  it('gives exactly in × 16000 / rate samples once flushed', () => {
    expect(convert(48000, new Int16Array(48000)).length).toBe(16000);
    expect(convert(48000, new Int16Array(1001)).length).toBe(334);
    expect(convert(48000, new Int16Array(1)).length).toBe(1);
    expect(convert(24000, new Int16Array(1001)).length).toBe(668);
    expect(convert(8000, new Int16Array(1001)).length).toBe(2002);
    expect(convert(48000, new Int16Array(0)).length).toBe(0);
  });

  it('returns each 20 ms chunk’s share as it goes (± 1 sample), the filter’s half-length at the end', () => {
    const r = new Resampler(48000);
    const input = roughSignal(48000, 48000);
    let total = 0;
    for (let i = 0; i < input.length; i += 960) {
      const n = r.process(input.subarray(i, i + 960)).length;
      if (i >= 960) expect(Math.abs(n - 320)).toBeLessThanOrEqual(1);
      total += n;
    }
    expect(total).toBe(16000 - r.latencySamples / 3);
    expect(r.flush().length).toBe(r.latencySamples / 3);
    r.close();
  });

  for (const size of [1, 7, 333, 5000]) {
    it(`chunks of ${size} samples give the same output as one call`, () => {
      const input = roughSignal(48000, 12_000);
      const whole = convert(48000, input);
      const r = new Resampler(48000);
      expect(inChunks(r, input, size)).toEqual(whole);
      r.close();
    });
  }

  it('converts a call larger than the shared scratch buffer in pieces, seamlessly', () => {
    for (const rate of [48000, 8000]) {
      const input = roughSignal(rate, 100_000);
      const r = new Resampler(rate);
      const whole = concat16([r.process(input), r.flush()]);
      expect(whole.length).toBe(Math.ceil((100_000 * 16000) / rate));
      expect(inChunks(r, input, rate / 50)).toEqual(whole);
      r.close();
    }
  });

  it('accepts floats in the PCM16 range and clips the output', () => {
    const r = new Resampler(48000);
    const loud = new Float32Array(4800).fill(40_000);
    const out = concat16([r.process(loud), r.flush()]);
    expect(Math.max(...out)).toBe(32767);
    // In-range floats give what their rounded PCM16 values give.
    const f = Float32Array.from(tone(440, 48000, 4800), (v) => v + 0.2);
    expect(concat16([r.process(f), r.flush()])).toEqual(convert(48000, tone(440, 48000, 4800)));
    r.close();
  });

  it('is ready for a new stream after flush, and after reset', () => {
    const r = new Resampler(48000);
    const input = tone(1000, 48000, 4800);
    const first = concat16([r.process(input), r.flush()]);
    const second = concat16([r.process(input), r.flush()]);
    expect(second).toEqual(first);
    r.process(roughSignal(48000, 777));
    r.reset();
    expect(concat16([r.process(input), r.flush()])).toEqual(first);
    r.close();
  });
});

describe('Resampler 8 kHz and 24 kHz → 16 kHz', () => {
  it('8 kHz: passes the telephone band, rejects the images above 4 kHz', () => {
    for (const f of [300, 1000, 3400]) expect(Math.abs(gainDb(8000, f))).toBeLessThan(0.05);
    // Upsampling a 3 kHz tone by inserting zeros would add its image at 5 kHz at full level:
    // measure everything but the 3 kHz tone (removed by projection).
    const out = convert(8000, tone(3000, 8000, 8000));
    let c = 0;
    let s = 0;
    for (let i = 1000; i < 15_000; i++) {
      c += (out[i] as number) * Math.cos((2 * Math.PI * 3000 * i) / 16000);
      s += (out[i] as number) * Math.sin((2 * Math.PI * 3000 * i) / 16000);
    }
    const a = (2 * c) / 14_000;
    const b = (2 * s) / 14_000;
    let residual = 0;
    for (let i = 1000; i < 15_000; i++) {
      const v = (out[i] as number) - a * Math.cos((2 * Math.PI * 3000 * i) / 16000) - b * Math.sin((2 * Math.PI * 3000 * i) / 16000);
      residual += v * v;
    }
    expect(10 * Math.log10(residual / 14_000 / (Math.hypot(a, b) ** 2 / 2))).toBeLessThan(-70);
  });

  it('24 kHz: passes to 7 kHz and rejects above 8 kHz', () => {
    for (const f of [1000, 6900]) expect(Math.abs(gainDb(24000, f))).toBeLessThan(0.05);
    for (const f of [8200, 9000, 11_000]) expect(gainDb(24000, f)).toBeLessThan(-70);
  });

  for (const rate of [8000, 24000]) {
    it(`${rate / 1000} kHz: chunks of 1, 7 and 333 samples give the same output as one call`, () => {
      const input = roughSignal(rate, 6000);
      const whole = convert(rate, input);
      for (const size of [1, 7, 333]) {
        const r = new Resampler(rate);
        expect(inChunks(r, input, size)).toEqual(whole);
        r.close();
      }
    });
  }
});

describe('one WASM module, one speex state per stream', () => {
  it('many resamplers alive at once stay independent (the shared WASM heap grows); close() frees', async () => {
    const { mod } = await loadSpeexResampler();
    const input = roughSignal(48000, 9600);
    const expected = convert(48000, input);
    const heap0 = mod.HEAPU8.length;
    // ≈3.9 KB of WASM heap each: 6000 outgrow the initial 16 MiB.
    const many = Array.from({ length: 6000 }, () => new Resampler(48000));
    const grown = mod.HEAPU8.length;
    expect(grown).toBeGreaterThan(heap0);
    const first = many[0] as Resampler;
    const last = many[5999] as Resampler;
    expect(inChunks(first, input, 960)).toEqual(expected);
    expect(inChunks(last, input, 960)).toEqual(expected);
    for (const r of many) r.close();
    // The freed states are reused: as many again fit without growing the heap.
    const again = Array.from({ length: 6000 }, () => new Resampler(48000));
    expect(mod.HEAPU8.length).toBe(grown);
    for (const r of again) r.close();
  });

  it('a closed resampler refuses input; close is idempotent', () => {
    const r = new Resampler(24000);
    r.process(new Int16Array(480));
    r.close();
    r.close();
    expect(() => r.process(new Int16Array(480))).toThrow(/closed/);
    expect(r.flush().length).toBe(0);
    r.reset();
  });

  it('createResampler loads the module; the constructor needs it loaded; bad arguments are RangeErrors', async () => {
    const r = await createResampler(8000);
    expect(r.process(new Int16Array(160)).length).toBeGreaterThan(0);
    r.close();
    expect(() => new Resampler(0)).toThrow(RangeError);
    expect(() => new Resampler(44_100.5)).toThrow(RangeError);
    expect(() => new Resampler(48000, 16000, 11)).toThrow(RangeError);
    vi.resetModules();
    const fresh = await import('./resample.ts');
    expect(() => new fresh.Resampler(48000)).toThrow(/not loaded/);
    const loaded = await fresh.createResampler(48000);
    loaded.close();
  });

  it('falls back to the plain build when the SIMD one does not load, with the same output', async () => {
    vi.resetModules();
    vi.doMock('@echogarden/speex-resampler-wasm/simd', () => ({ default: () => Promise.reject(new Error('no SIMD here')) }));
    try {
      const plain = await import('./resample.ts');
      expect((await plain.loadSpeexResampler()).build).toBe('nonsimd');
      const input = roughSignal(48000, 9600);
      const r = await plain.createResampler(48000);
      const out = concat16([r.process(input), r.flush()]);
      r.close();
      // Same filter; float sums in another order may round a sample the other way.
      const ref = convert(48000, input);
      expect(out.length).toBe(ref.length);
      let diff = 0;
      for (let i = 0; i < out.length; i++) diff = Math.max(diff, Math.abs((out[i] as number) - (ref[i] as number)));
      expect(diff).toBeLessThanOrEqual(1);
    } finally {
      vi.doUnmock('@echogarden/speex-resampler-wasm/simd');
      vi.resetModules();
    }
  });
});

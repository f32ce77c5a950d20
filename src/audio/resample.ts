// Streaming sample-rate conversion to 16 kHz with SpeexDSP's resampler (xiph), compiled to WASM by
// @echogarden/speex-resampler-wasm. One WASM module per process (loaded lazily, shared; preload.ts
// warms it); each stream owns one speex state, freed by close(). Input and output go through two
// scratch buffers in the WASM heap shared by all streams (conversion is synchronous); heap views
// are re-read from the module after every call that may grow the memory.
//
// Build: the SIMD build if it instantiates (it does on Node 20), else the plain one (same filter,
// ≈4.5× the CPU: 97 µs per 48 kHz chunk at quality 7).
//
// Quality, measured with `npx tsx --expose-gc src/audio/bench-audio-cpu.ts` (SIMD build, Node 20,
// Resampler.process on 20 ms chunks of speech, min of 7 runs, quietest of several runs on a shared
// 2-core machine; under load q7 48k→16k read up to 26.5 µs and q8 up to 33.5 µs). State = WASM heap
// per stream (struct, history, filter table). Frequencies = where 48k/24k→16k (8k→16k) loses
// 0.1 dB and 3 dB, and the worst stopband gain from 8 kHz up, from sine sweeps through
// process_float:
//
//   quality  48k→16k  24k→16k  8k→16k  state 48k/24k/8k   −0.1 dB          −3 dB            stop
//      3      9.0 µs   4.8 µs   4.1 µs  1952/1664/1376 B   6.53 (3.36) kHz  7.00 (3.59) kHz  −83 dB
//      4     11.5 µs   5.8 µs   4.3 µs  2336/1952/1568 B   6.90 (3.53) kHz  7.25 (3.70) kHz  −81 dB
//      5     14.1 µs   6.8 µs   5.0 µs  2720/2240/1760 B   6.95 (3.55) kHz  7.27 (3.71) kHz  −95 dB
//      7     21.1 µs  11.0 µs   6.9 µs  3872/3104/2336 B   7.33 (3.67) kHz  7.54 (3.77) kHz  −102 dB  ← used
//      8     27.7 µs  13.6 µs   9.4 µs  4640/3680/2720 B   7.47 (3.74) kHz  7.63 (3.82) kHz  −100 dB
//
// Quality 7 is the best that stays under ~30 µs per 48 kHz chunk with room to spare (8 is at the
// limit under load). The hand-written polyphase FIR this replaced (70 dB stopband, −6 dB at
// 7.5 kHz) took 54 / 31 / 22 µs for the same chunks on the same machine. The stopband starts at the
// output Nyquist (8 kHz), so nothing aliases; the transition band lies below it (7.5 kHz −2.1 dB,
// 7.8 kHz −26 dB, 7.9 kHz −46 dB). 8k→16k: images of tones up to 3.66 kHz ≤ −104 dB.
//
// Timing: speex_resampler_skip_zeros at the start, so output sample j is the input at time
// j·in/out (no delay once flushed). The filter holds back `latencySamples` input samples (half its
// length: 192 at 48 kHz = 4 ms, 96 at 24 kHz, 64 at 8 kHz = 8 ms) until later input completes their
// outputs; flush() feeds that many zeros and cuts the output at exactly ceil(in·out/in_rate)
// samples for the whole stream. Each process() call returns what its input completes (its share
// of the output ± 1 sample); chunking does not change the samples.
import type { SpeexResamplerModule } from '@echogarden/speex-resampler-wasm';
import { PCM_RATE } from './types.ts';
import { clip16 } from './pcm.ts';
import { concatSamples } from './concat-samples.ts';

/** SpeexDSP quality (0..10) of every Resampler unless told otherwise: see the header. */
export const RESAMPLER_QUALITY = 7;
/** Input scratch, samples: one audio.chunk at the default max_audio_chunk_bytes (64 KiB) of PCM16
 *  in one call; larger inputs (64 KiB of µ-law) are converted in pieces. */
const SCRATCH_IN = 32_768;
/** Output scratch, samples: room for SCRATCH_IN samples upsampled ×2 (8k → 16k). Inputs are cut
 *  so that one call's output always fits. */
const SCRATCH_OUT = 2 * SCRATCH_IN + 16;

const SPEEX_ERRORS: Record<number, string> = {
  1: 'memory allocation failed',
  2: 'bad resampler state',
  3: 'invalid argument',
  4: 'input and output buffers overlap',
  5: 'overflow',
};

export interface SpeexResampler {
  readonly mod: SpeexResamplerModule;
  /** Which build instantiated. */
  readonly build: 'simd' | 'nonsimd';
  /** WASM addresses of the shared scratch: input, output (int16), in/out lengths (2 × uint32). */
  readonly inPtr: number;
  readonly outPtr: number;
  readonly lenPtr: number;
}

let loaded: SpeexResampler | undefined;
let loading: Promise<SpeexResampler> | undefined;

/** Loads the shared SpeexDSP module (a few ms, once per process); createResampler() does it on
 *  first use. The SIMD build if it instantiates, else the plain one. */
export function loadSpeexResampler(): Promise<SpeexResampler> {
  loading ??= instantiate()
    .then((s) => (loaded = s))
    .catch((err: unknown) => {
      loading = undefined; // let a later session try again
      throw err;
    });
  return loading;
}

async function instantiate(): Promise<SpeexResampler> {
  let mod: SpeexResamplerModule;
  let build: SpeexResampler['build'];
  try {
    const { default: factory } = await import('@echogarden/speex-resampler-wasm/simd');
    // A runtime without WASM SIMD fails to compile it; Emscripten would print that before rejecting.
    mod = await factory({ printErr: () => undefined });
    build = 'simd';
  } catch (simdErr) {
    try {
      const { default: factory } = await import('@echogarden/speex-resampler-wasm');
      mod = await factory();
      build = 'nonsimd';
    } catch (err) {
      throw new Error(`speex resampler: cannot load the WASM module (simd: ${String(simdErr)}; nonsimd: ${String(err)})`, { cause: err });
    }
  }
  const inPtr = mod._malloc(SCRATCH_IN * 2);
  const outPtr = mod._malloc(SCRATCH_OUT * 2);
  const lenPtr = mod._malloc(8);
  if (inPtr === 0 || outPtr === 0 || lenPtr === 0) throw new Error('speex resampler: cannot allocate the scratch buffers');
  return { mod, build, inPtr, outPtr, lenPtr };
}

/** A Resampler for one stream, loading the shared module first if needed. */
export async function createResampler(inRate: number, outRate: number = PCM_RATE, quality: number = RESAMPLER_QUALITY): Promise<Resampler> {
  await loadSpeexResampler();
  return new Resampler(inRate, outRate, quality);
}

/** Frees the speex state of a Resampler dropped without close() (a leak otherwise). */
const leaked = new FinalizationRegistry<{ mod: SpeexResamplerModule; st: number }>(({ mod, st }) => mod._speex_resampler_destroy(st));

const EMPTY = new Int16Array(0);

/** One stream's converter: feed chunks in order, get the output samples they complete; flush() at
 *  the end of the stream; close() when done. */
export class Resampler {
  /** Input samples the filter holds back until later input (or flush) completes their outputs. */
  readonly latencySamples: number;
  private readonly speex: SpeexResampler;
  private st: number;
  /** Largest input per process_int call: its output always fits the output scratch. */
  private readonly maxIn: number;
  private inTotal = 0;
  private outTotal = 0;

  /** Needs the shared module loaded (loadSpeexResampler(), preloadAudioCodecs() or
   *  createResampler()); throws otherwise. RangeError for rates or a quality out of range. */
  constructor(
    readonly inRate: number,
    readonly outRate: number = PCM_RATE,
    readonly quality: number = RESAMPLER_QUALITY,
  ) {
    if (!Number.isInteger(inRate) || !Number.isInteger(outRate) || inRate <= 0 || outRate <= 0) {
      throw new RangeError(`sample rates must be positive integers (${inRate} → ${outRate})`);
    }
    if (!Number.isInteger(quality) || quality < 0 || quality > 10) throw new RangeError(`resampler quality must be 0..10, got ${quality}`);
    if (!loaded) throw new Error('speex resampler module not loaded: await loadSpeexResampler() or use createResampler()');
    this.speex = loaded;
    const { mod, lenPtr } = loaded;
    const st = mod._speex_resampler_init(1, inRate, outRate, quality, lenPtr);
    if (st === 0) throw new Error(`speex resampler: cannot create a ${inRate} → ${outRate} Hz state (${errorText(mod.HEAPU32[lenPtr >> 2] ?? 0)})`);
    this.st = st;
    this.latencySamples = mod._speex_resampler_get_input_latency(st);
    this.maxIn = Math.max(1, Math.min(SCRATCH_IN, Math.floor(((SCRATCH_OUT - 2) * inRate) / outRate)));
    mod._speex_resampler_skip_zeros(st);
    leaked.register(this, { mod, st }, this);
  }

  /** Converts the next chunk: PCM16 samples, or floats in the PCM16 range (rounded and clipped to
   *  PCM16 on the way in). */
  process(input: Int16Array | Float32Array): Int16Array {
    this.live();
    this.inTotal += input.length;
    const parts: Int16Array[] = [];
    for (let off = 0; off < input.length; off += this.maxIn) {
      const n = Math.min(this.maxIn, input.length - off);
      const base = this.speex.inPtr >> 1;
      const heap = this.speex.mod.HEAP16;
      if (input instanceof Int16Array) {
        heap.set(input.subarray(off, off + n), base);
      } else {
        for (let i = 0; i < n; i++) heap[base + i] = clip16(input[off + i] as number);
      }
      parts.push(this.run(n));
    }
    return concatSamples(parts);
  }

  /** End of input: the outputs still waiting for later samples (zeros there), so that the stream
   *  gave exactly ceil(input · outRate / inRate) samples. Leaves the converter ready for a new
   *  stream. Empty once closed. */
  flush(): Int16Array {
    if (this.st === 0) return EMPTY;
    const target = Math.ceil((this.inTotal * this.outRate) / this.inRate);
    const parts: Int16Array[] = [];
    // latencySamples zeros complete every output; the loop is a guard against a rounding surprise.
    for (let round = 0; this.outTotal < target; round++) {
      if (round === 4) throw new Error(`speex resampler: flush stopped ${target - this.outTotal} samples short`);
      for (let left = this.latencySamples; left > 0; ) {
        const n = Math.min(this.maxIn, left);
        const base = this.speex.inPtr >> 1;
        this.speex.mod.HEAP16.fill(0, base, base + n);
        parts.push(this.run(n));
        left -= n;
      }
    }
    const tail = concatSamples(parts);
    const keep = Math.max(0, tail.length - (this.outTotal - target));
    this.reset();
    return keep === tail.length ? tail : tail.slice(0, keep);
  }

  /** Forgets the stream (history, position); the next sample starts a new, aligned stream. */
  reset(): void {
    this.inTotal = 0;
    this.outTotal = 0;
    if (this.st === 0) return;
    const { mod } = this.speex;
    mod._speex_resampler_reset_mem(this.st);
    mod._speex_resampler_skip_zeros(this.st);
  }

  /** Frees the speex state. Idempotent; process() throws afterwards. */
  close(): void {
    if (this.st === 0) return;
    leaked.unregister(this);
    this.speex.mod._speex_resampler_destroy(this.st);
    this.st = 0;
  }

  private live(): void {
    if (this.st === 0) throw new Error('resampler is closed');
  }

  /** Converts the n samples at the input scratch; returns a copy of the output. */
  private run(n: number): Int16Array {
    const { mod, inPtr, outPtr, lenPtr } = this.speex;
    const lens = lenPtr >> 2;
    mod.HEAPU32[lens] = n;
    mod.HEAPU32[lens + 1] = SCRATCH_OUT;
    const err = mod._speex_resampler_process_int(this.st, 0, inPtr, lenPtr, outPtr, lenPtr + 4);
    if (err !== 0) throw new Error(`speex resampler: ${errorText(err)}`);
    const used = mod.HEAPU32[lens] as number;
    const made = mod.HEAPU32[lens + 1] as number;
    // maxIn leaves room for every output n samples can complete, so all input is consumed.
    if (used !== n) throw new Error(`speex resampler consumed ${used} of ${n} samples`);
    this.outTotal += made;
    const at = outPtr >> 1;
    return mod.HEAP16.slice(at, at + made);
  }
}

function errorText(code: number): string {
  return SPEEX_ERRORS[code] ?? `error ${code}`;
}

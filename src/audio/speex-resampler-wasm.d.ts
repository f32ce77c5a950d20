// Types of @echogarden/speex-resampler-wasm 0.3 (an Emscripten build of SpeexDSP's resampler, float
// build, that ships no declarations). Only what resample.ts uses. The HEAP* properties are replaced
// by new views whenever the WASM memory grows: read them from the module after every call that may
// allocate, never keep one.
declare module '@echogarden/speex-resampler-wasm' {
  export interface SpeexResamplerModule {
    HEAPU8: Uint8Array;
    HEAP16: Int16Array;
    HEAPU32: Uint32Array;
    _malloc(bytes: number): number;
    _free(ptr: number): void;
    /** A new state (0 on failure, error code at *errPtr). Quality 0..10. */
    _speex_resampler_init(channels: number, inRate: number, outRate: number, quality: number, errPtr: number): number;
    _speex_resampler_destroy(st: number): void;
    /** Reads *inLenPtr samples at inPtr, writes at most *outLenPtr at outPtr; on return the two
     *  hold the counts consumed and written. 0 on success, else an error code. */
    _speex_resampler_process_int(st: number, channel: number, inPtr: number, inLenPtr: number, outPtr: number, outLenPtr: number): number;
    /** Starts the stream aligned: the filter's leading zeros produce no output. */
    _speex_resampler_skip_zeros(st: number): number;
    /** Input samples the filter holds back (filter length / 2). */
    _speex_resampler_get_input_latency(st: number): number;
    _speex_resampler_get_output_latency(st: number): number;
    /** Clears the history and position (not the skip_zeros offset: call skip_zeros again). */
    _speex_resampler_reset_mem(st: number): number;
  }
  const factory: (moduleArg?: Record<string, unknown>) => Promise<SpeexResamplerModule>;
  export default factory;
}

declare module '@echogarden/speex-resampler-wasm/simd' {
  import type { SpeexResamplerModule } from '@echogarden/speex-resampler-wasm';
  const factory: (moduleArg?: Record<string, unknown>) => Promise<SpeexResamplerModule>;
  export default factory;
}

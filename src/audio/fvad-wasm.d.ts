// Types of @echogarden/fvad-wasm 0.2 (an Emscripten build of libfvad that ships no declarations).
declare module '@echogarden/fvad-wasm' {
  export interface FvadModule {
    HEAP16: Int16Array;
    _malloc(bytes: number): number;
    _free(ptr: number): void;
    /** A new VAD instance (8 kHz, mode 0 until set), 0 on allocation failure. */
    _fvad_new(): number;
    _fvad_free(inst: number): void;
    _fvad_reset(inst: number): void;
    /** 0 on success, -1 for an invalid mode. */
    _fvad_set_mode(inst: number, mode: number): number;
    /** 0 on success, -1 for an unsupported rate (8000, 16000, 32000, 48000). */
    _fvad_set_sample_rate(inst: number, rate: number): number;
    /** 1 voice, 0 no voice, -1 invalid frame length (10, 20 or 30 ms). */
    _fvad_process(inst: number, frame: number, length: number): number;
  }
  const factory: (moduleArg?: Record<string, unknown>) => Promise<FvadModule>;
  export default factory;
}

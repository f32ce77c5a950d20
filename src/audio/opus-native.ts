// Opus packet decoding with opusscript's WASM build of libopus (no native addon), driven through
// its embind handler directly rather than through the `OpusScript` JS class (or prism-media's
// opus.Decoder, which wraps that class). The class, in opusscript 0.0.8:
//   - places its output buffer at twice the malloc'd address (it indexes HEAPU16 with a byte
//     address), so with many decoders alive it writes into other decoders' memory;
//   - keeps typed-array views taken at construction, which go stale (detached, length 0) as soon
//     as the WASM memory grows, i.e. once enough sessions have opened decoders.
// Here: one module per process, loaded lazily; the input/output scratch buffers are malloc'd once
// and shared (decoding is synchronous), and heap views are re-read after every call that may grow
// the memory. Each session owns only its handler (libopus encoder + decoder state, ≈85 KB;
// opusscript always creates both).
import { createRequire } from 'node:module';
import { PCM_RATE } from './types.ts';

/** opus_decode's frame_size in the handler: 120 ms at 48 kHz. Output never exceeds it. */
const MAX_FRAME_SAMPLES = 5760;
/** Largest packet accepted (the protocol caps audio.chunk at 64 KiB anyway). */
export const MAX_OPUS_PACKET_BYTES = 65_536;
const OPUS_APPLICATION_VOIP = 2048;

const OPUS_ERRORS: Record<number, string> = {
  [-1]: 'bad argument',
  [-2]: 'buffer too small',
  [-3]: 'internal error',
  [-4]: 'invalid packet',
  [-5]: 'unimplemented',
  [-6]: 'invalid state',
  [-7]: 'memory allocation failed',
};

interface OpusHandler {
  _decode(inPtr: number, bytes: number, outPtr: number): number;
  delete(): void;
}

interface OpusNativeModule {
  HEAPU8: Uint8Array;
  HEAPU16: Uint16Array;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  OpusScriptHandler: new (rate: number, channels: number, application: number) => OpusHandler;
}

interface Shared {
  mod: OpusNativeModule;
  inPtr: number;
  outPtr: number;
}

let shared: Shared | undefined;

/** The process-wide module (instantiated synchronously on first use: ≈300 KB of WASM). */
function native(): Shared {
  if (shared) return shared;
  const require = createRequire(import.meta.url);
  const factory = require('opusscript/build/opusscript_native_wasm.js') as () => OpusNativeModule;
  const mod = factory();
  const inPtr = mod._malloc(MAX_OPUS_PACKET_BYTES);
  // The handler writes each output byte into its own 16-bit lane: 4 bytes per mono sample.
  const outPtr = mod._malloc(MAX_FRAME_SAMPLES * 4);
  if (inPtr === 0 || outPtr === 0) throw new Error('opus: cannot allocate decode buffers');
  shared = { mod, inPtr, outPtr };
  return shared;
}

/** Instantiates the shared module now (≈15 ms of synchronous WASM compilation, once per process)
 *  rather than in the first session's audio.start. */
export function loadOpusModule(): void {
  native();
}

export class OpusDecodeError extends Error {}

/** One Opus stream decoded at 16 kHz mono. */
export class OpusPacketDecoder {
  private handler: OpusHandler | undefined;

  constructor() {
    this.handler = new (native().mod.OpusScriptHandler)(PCM_RATE, 1, OPUS_APPLICATION_VOIP);
  }

  /** Decodes one packet (stereo packets are mixed down). Throws OpusDecodeError for a packet
   *  libopus rejects, an empty packet (libopus would conceal a lost one: 360 ms of invented audio)
   *  or one over MAX_OPUS_PACKET_BYTES; the decoder stays usable. */
  decode(packet: Uint8Array): Int16Array {
    const h = this.handler;
    if (!h) throw new Error('opus decoder is closed');
    if (packet.length === 0) throw new OpusDecodeError('empty Opus packet');
    if (packet.length > MAX_OPUS_PACKET_BYTES) throw new OpusDecodeError(`Opus packet of ${packet.length} bytes is too large`);
    const { mod, inPtr, outPtr } = native();
    mod.HEAPU8.set(packet, inPtr);
    const n = h._decode(inPtr, packet.length, outPtr);
    if (n < 0) throw new OpusDecodeError(`corrupt Opus packet: ${OPUS_ERRORS[n] ?? `error ${n}`}`);
    const lanes = mod.HEAPU16; // read after the call: the memory may have grown
    const out = new Int16Array(n);
    let l = outPtr >> 1;
    for (let i = 0; i < n; i++, l += 2) out[i] = ((lanes[l] as number) & 0xff) | ((lanes[l + 1] as number) << 8);
    return out;
  }

  /** Frees the libopus state. Idempotent. */
  close(): void {
    this.handler?.delete();
    this.handler = undefined;
  }
}

// Inbound audio as the rest of the gateway sees it: every accepted input format is decoded and
// resampled to 16 kHz mono PCM16 (the rate every Whisper backend wants). See SPEC.md "Audio".
import type { AudioFormat } from '../../protocol/messages.ts';

/** The gateway's internal audio rate, Hz. */
export const PCM_RATE = 16_000;

/** Samples per millisecond at PCM_RATE. */
export const SAMPLES_PER_MS = PCM_RATE / 1000;

export interface AudioDecoder {
  readonly format: AudioFormat;
  /** Decode one audio.chunk. Returns the 16 kHz mono PCM16 samples it yields (possibly none while
   *  a container header or the resampler fills). Throws VlpError AUDIO_CHUNK_INVALID for bytes that
   *  cannot be decoded in the declared format (odd PCM16 byte count, corrupt Opus, bad container);
   *  the decoder stays usable for the next chunk after such an error. */
  decode(chunk: Uint8Array): Int16Array;
  /** decode(), except that the result may be a view of a buffer the decoder reuses, valid only
   *  until its next decode(), decodeTransient() or flush(). For the live path, whose consumers (VAD,
   *  ring, ASR stream) copy what they keep: where the decoder can (PCM16 at 16 kHz, one copy of the
   *  bytes), it saves an allocation per chunk. */
  decodeTransient(chunk: Uint8Array): Int16Array;
  /** Milliseconds of input audio the chunk carries, known before decoding when the format says
   *  (PCM, f32, μ-law: from the byte count; raw Opus: from the packet's TOC byte, undefined when
   *  that is malformed); undefined for ogg_opus/webm_opus (bytes split anywhere): use the decoded
   *  length. For rate guards. */
  inputMs(chunk: Uint8Array): number | undefined;
  /** End of input: whatever the resampler still holds. */
  flush(): Int16Array;
  /** Release native/WASM memory. Idempotent. */
  close(): void;
}

/** Voice-activity events of the endpointer, in samples since audio.start (16 kHz clock). */
export type VadEvent =
  | { kind: 'speech_start'; atSample: number }
  | { kind: 'speech_end'; atSample: number };

export interface VadSettings {
  /** libfvad aggressiveness 0..3 (3 = most aggressive at calling audio non-speech). */
  mode: 0 | 1 | 2 | 3;
  /** Voiced audio needed before speech_start, ms. */
  startMs: number;
  /** Trailing silence that ends the utterance (speech_end), ms. */
  endSilenceMs: number;
  /** Frames quieter than this RMS (dBFS) are silence whatever the VAD says (noise floor gate). */
  minDbfs: number;
}

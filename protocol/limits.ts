// Size limits of vlp.v1 client input, enforced by the codec and the validator (PROTO_FIELD_TOO_LARGE,
// PROTO_FRAME_TOO_LARGE). The gateway reports the effective values to clients in ready.limits.

export interface ProtocolLimits {
  /** Largest WebSocket message accepted, bytes (larger frames close the connection with 1009). */
  maxFrameBytes: number;
  /** turn.start.text, characters. Every "chars" limit counts Unicode code points (an emoji is 1). */
  maxTextChars: number;
  /** audio.chunk.data, bytes. */
  maxAudioChunkBytes: number;
  /** image.put.data, bytes. */
  maxImageBytes: number;
  /** Every id and short name: turn/image/session ids, resume token, model, hello.client; chars. */
  maxIdChars: number;
  /** Entries of a GenParams.stop list. */
  maxStopSequences: number;
  /** Each stop sequence, chars. */
  maxStopChars: number;
  /** SessionOptions.system_prompt, chars. */
  maxSystemPromptChars: number;
  /** image.put.url, chars. */
  maxUrlChars: number;
}

const KiB = 1024;
const MiB = 1024 * KiB;

export const DEFAULT_LIMITS: ProtocolLimits = Object.freeze({
  maxFrameBytes: 8 * MiB,
  maxTextChars: 16_384,
  maxAudioChunkBytes: 64 * KiB,
  maxImageBytes: 6 * MiB,
  maxIdChars: 64,
  maxStopSequences: 4,
  maxStopChars: 64,
  maxSystemPromptChars: 8_192,
  maxUrlChars: 2_048,
});

// The vlp.v1.msgpack wire: one reused Encoder (which drops its buffer after a large frame) and
// Decoder (replaced after a large frame, which it would otherwise keep alive), decoder length limits, a pre-decode shape scan, and the mapping of decoder failures to
// stable error codes. Untyped: codec.ts validates.
import { Decoder } from '@msgpack/msgpack';
import { decodeFailure, type DecodeFailure } from './decode-result.ts';
import { MsgpackShapeScanner, SHAPE_EXT, SHAPE_MALFORMED, SHAPE_OK, SHAPE_TOO_DEEP, SHAPE_TOO_MANY_VALUES, type ShapeVerdict } from './msgpack-shape.ts';
import { MAX_RETAINED_ENCODE_BYTES, ReusedEncoder } from './reused-encoder.ts';

export interface WireBounds {
  /** Longest msgpack str, UTF-8 bytes. */
  maxStrBytes: number;
  maxBinBytes: number;
  maxArrayLength: number;
  maxMapLength: number;
  /** Nesting depth of maps/arrays (the top-level map is depth 1). */
  maxDepth: number;
  /** Values in one frame, map keys included (msgpack) / separators (JSON). */
  maxValues: number;
}

export type RawResult = { ok: true; value: unknown } | DecodeFailure;

/** A Decoder keeps its last input alive until the next decode. After a frame larger than the
 *  encoders' retention bound it is replaced, so an idle connection does not hold its last image
 *  frame (up to max_frame_bytes). */
const DECODER_RETAIN_BYTES = MAX_RETAINED_ENCODE_BYTES;

export class MsgpackWire {
  private readonly encoder = new ReusedEncoder();
  private decoder: Decoder;
  private readonly scanner: MsgpackShapeScanner;
  private readonly maxBinBytes: number;

  constructor(private readonly bounds: WireBounds) {
    this.decoder = this.newDecoder();
    this.scanner = new MsgpackShapeScanner(bounds.maxDepth, bounds.maxValues);
    this.maxBinBytes = bounds.maxBinBytes;
  }

  private newDecoder(): Decoder {
    const b = this.bounds;
    return new Decoder({
      maxStrLength: b.maxStrBytes,
      maxBinLength: b.maxBinBytes,
      maxArrayLength: b.maxArrayLength,
      maxMapLength: b.maxMapLength,
      maxExtLength: 0, // ext types are not part of vlp.v1 (the shape scan rejects them first)
    });
  }

  /** The hot path: recognizes the canonical audio.chunk bytes without the general decoder (about
   *  6x faster). Anything else, including an oversized bin, takes the general path. */
  private audioChunkFast(bytes: Uint8Array): { t: 'audio.chunk'; data: Uint8Array } | undefined {
    const len = bytes.length;
    if (len < PREFIX_LEN + 2 || bytes[0] !== 0x82) return undefined;
    for (let i = 1; i < PREFIX_LEN; i++) {
      if (bytes[i] !== AUDIO_CHUNK_PREFIX[i]) return undefined;
    }
    const head = bytes[PREFIX_LEN];
    let start: number;
    let size: number;
    if (head === 0xc4) {
      start = PREFIX_LEN + 2;
      size = bytes[PREFIX_LEN + 1]!;
    } else if (head === 0xc5 && len >= PREFIX_LEN + 3) {
      start = PREFIX_LEN + 3;
      size = (bytes[PREFIX_LEN + 1]! << 8) | bytes[PREFIX_LEN + 2]!;
    } else {
      return undefined; // bin32 chunks are over any sane audio limit: let the decoder report them
    }
    if (start + size !== len || size > this.maxBinBytes) return undefined;
    return { t: 'audio.chunk', data: bytes.subarray(start, len) };
  }

  /** A view into the encoder's shared buffer, valid only until the next encode on this wire. */
  encode(msg: object): Uint8Array {
    return this.encoder.encode(msg);
  }

  /** Encode buffer bytes this wire keeps between frames (for tests and memory accounting). */
  get retainedEncodeBytes(): number {
    return this.encoder.retainedBytes;
  }

  /** Never throws. */
  decode(bytes: Uint8Array): RawResult {
    const chunk = this.audioChunkFast(bytes);
    if (chunk !== undefined) return { ok: true, value: chunk };
    const shape = this.scanner.scan(bytes);
    if (shape !== SHAPE_OK) return shapeFailure(shape);
    try {
      return { ok: true, value: this.decoder.decode(bytes) };
    } catch (e) {
      return decoderFailure(e);
    } finally {
      if (bytes.length > DECODER_RETAIN_BYTES) this.decoder = this.newDecoder();
    }
  }
}

// audio.chunk as every vlp encoder writes it: {t: "audio.chunk", data: bin}, in that key order.
const AUDIO_CHUNK_PREFIX = Uint8Array.of(
  0x82, 0xa1, 0x74, 0xab, ...[...'audio.chunk'].map((c) => c.charCodeAt(0)), 0xa4, ...[...'data'].map((c) => c.charCodeAt(0)),
);
const PREFIX_LEN = AUDIO_CHUNK_PREFIX.length;

/** The failure for every verdict but SHAPE_OK. Exported for tests. */
export function shapeFailure(shape: Exclude<ShapeVerdict, typeof SHAPE_OK>): DecodeFailure {
  switch (shape) {
    case SHAPE_MALFORMED:
      return decodeFailure('PROTO_MALFORMED', 'the frame is not one valid msgpack value');
    case SHAPE_EXT:
      return decodeFailure('PROTO_MALFORMED', 'the frame uses a msgpack ext type, which vlp.v1 does not allow');
    case SHAPE_TOO_DEEP:
      return decodeFailure('PROTO_MALFORMED', 'the frame nests maps or arrays too deeply');
    case SHAPE_TOO_MANY_VALUES:
      return decodeFailure('PROTO_FIELD_TOO_LARGE', 'the frame holds too many values');
    default: {
      // A verdict added to ShapeVerdict without a case fails to compile here. decode() never
      // throws, so at run time such a verdict still answers the frame as malformed.
      const never: never = shape;
      return decodeFailure('PROTO_MALFORMED', `the frame failed the shape scan (verdict ${String(never)})`);
    }
  }
}

// @msgpack/msgpack reports limits and the __proto__ key only through error messages; the codec
// tests pin these texts, so a library upgrade that changes them fails loudly.
function decoderFailure(e: unknown): DecodeFailure {
  const text = e instanceof Error ? e.message : '';
  if (text.startsWith('Max length exceeded')) {
    return decodeFailure('PROTO_FIELD_TOO_LARGE', 'a string, binary, array or map in the frame is over its limit (see ready.limits)');
  }
  if (text.includes('__proto__')) {
    return decodeFailure('PROTO_INVALID_FIELD', 'a map in the frame has the key __proto__, which is not a field of vlp.v1');
  }
  return decodeFailure('PROTO_MALFORMED', 'the frame is not valid msgpack');
}

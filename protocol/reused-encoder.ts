// One reused @msgpack/msgpack Encoder that does not keep a large buffer. The library's Encoder grows
// its buffer to twice the largest frame it ever wrote and never shrinks it, so one big frame (a
// mask.frame, a long gen.done) would pin that much memory for the encoder's whole life (a
// connection's). After an encode leaves the buffer over MAX_RETAINED_ENCODE_BYTES, the encoder is
// replaced by a fresh one; the frame just returned stays valid (it views the old buffer, which nothing
// writes to again and which is freed once the caller drops the frame). Small frames take no extra
// allocation.
import { Encoder } from '@msgpack/msgpack';

/** An encode buffer larger than this is dropped after the encode that grew it. */
export const MAX_RETAINED_ENCODE_BYTES = 64 * 1024;

/** @msgpack/msgpack's default initial buffer size. */
const INITIAL_BYTES = 2048;

const freshEncoder = (): Encoder => new Encoder({ ignoreUndefined: true, initialBufferSize: INITIAL_BYTES });

export class ReusedEncoder {
  private encoder = freshEncoder();
  private retained = INITIAL_BYTES;

  /** A view into a shared buffer, valid until the next encode on this encoder (it may outlive it). */
  encode(msg: unknown): Uint8Array {
    let out: Uint8Array;
    try {
      out = this.encoder.encodeSharedRef(msg);
    } catch (e) {
      // A failed encode may have grown the buffer before throwing: do not keep it.
      this.reset();
      throw e;
    }
    const size = out.buffer.byteLength;
    if (size > MAX_RETAINED_ENCODE_BYTES) this.reset();
    else this.retained = size;
    return out;
  }

  /** Bytes of encode buffer this encoder keeps between encodes (for tests and memory accounting). */
  get retainedBytes(): number {
    return this.retained;
  }

  private reset(): void {
    this.encoder = freshEncoder();
    this.retained = INITIAL_BYTES;
  }
}

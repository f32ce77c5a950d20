// Client-to-server WebSocket frames of float32 LE audio (WhisperLive's wire format), built in one
// buffer and written with one socket write: the frame header (RFC 6455 §5.2: FIN + binary opcode,
// MASK bit, payload length, a masking key of zeros) followed by the PCM16 samples converted straight
// into it (sample / 32768). One write(2) per 20 ms chunk and session is the audio path's largest
// cost, so nothing else is spent around it: no header+payload pair (ws's cork/writev path), no
// masking pass, no allocation while the socket keeps up.
//
// Why a zero masking key is acceptable here: RFC 6455 §10.3 masks client frames so that script in
// a browser cannot make a frame's bytes read as another protocol to a transparent proxy on the path
// (cache poisoning). This client is the gateway itself, talking to its own ASR servers, and the
// payload is float32 samples the gateway computed, not bytes chosen by untrusted script: a user's
// audio shapes them only as far as i / 32768 can, and such a float32 has at most 15 significant
// bits, so the low byte of every 4 (the first, little-endian) is always 0x00. No run of bytes in the
// payload can read as another protocol's text. The MASK bit and key are still sent (servers require
// them); with a zero key unmasking is the identity.
// `ws` makes the same trade when its `generateMask` option yields zeros.
import { endianness } from 'node:os';
import type { ByteWriter } from './direct-write.ts';

const LITTLE_ENDIAN = endianness() === 'LE';
const SCALE = 1 / 32768;
/** Frames up to this many payload bytes (0.5 s of audio) reuse the builder's buffer; larger ones
 *  (a pre-ready flush) get one of their own, so a session keeps ~1.3 KB, not its largest frame. */
const REUSE_MAX_PAYLOAD = 32 * 1024;

/** Header bytes of a masked client frame carrying `payloadBytes`: 2, plus 2 or 8 for the extended
 *  length, plus the 4-byte masking key. */
export function maskedHeaderBytes(payloadBytes: number): number {
  return (payloadBytes < 126 ? 2 : payloadBytes < 0x10000 ? 4 : 10) + 4;
}

/** Writes the header of a final, binary, masked frame with a zero key at `at`; returns where the
 *  payload starts. Payloads stay far below 4 GiB (the high half of a 64-bit length is zero). */
export function writeMaskedBinaryHeader(buf: Uint8Array, at: number, payloadBytes: number): number {
  let o = at;
  buf[o++] = 0x82; // FIN + opcode 2 (binary)
  if (payloadBytes < 126) {
    buf[o++] = 0x80 | payloadBytes;
  } else if (payloadBytes < 0x10000) {
    buf[o++] = 0x80 | 126;
    buf[o++] = payloadBytes >>> 8;
    buf[o++] = payloadBytes & 0xff;
  } else {
    buf[o++] = 0x80 | 127;
    buf[o++] = 0;
    buf[o++] = 0;
    buf[o++] = 0;
    buf[o++] = 0;
    buf[o++] = (payloadBytes >>> 24) & 0xff;
    buf[o++] = (payloadBytes >>> 16) & 0xff;
    buf[o++] = (payloadBytes >>> 8) & 0xff;
    buf[o++] = payloadBytes & 0xff;
  }
  buf[o++] = 0; // masking key: four zero bytes
  buf[o++] = 0;
  buf[o++] = 0;
  buf[o++] = 0;
  return o;
}

/** out[i] = samples[i] / 32768 (host order), for i < samples.length ≤ out.length. Unrolled by four:
 *  about a third faster than the plain loop in V8 (0.22 vs 0.33 µs for 320 samples). */
function toFloat32(samples: Int16Array, out: Float32Array): void {
  const n = samples.length;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    out[i] = (samples[i] as number) * SCALE;
    out[i + 1] = (samples[i + 1] as number) * SCALE;
    out[i + 2] = (samples[i + 2] as number) * SCALE;
    out[i + 3] = (samples[i + 3] as number) * SCALE;
  }
  for (; i < n; i++) out[i] = (samples[i] as number) * SCALE;
}

/** Writes `samples` as float32 LE (sample / 32768) into `dst` from byte `at` (4-aligned). */
function writeFloat32(samples: Int16Array, dst: Buffer, at: number): void {
  const n = samples.length;
  if (LITTLE_ENDIAN) {
    toFloat32(samples, new Float32Array(dst.buffer, dst.byteOffset + at, n));
  } else {
    for (let i = 0; i < n; i++) dst.writeFloatLE((samples[i] as number) * SCALE, at + i * 4);
  }
}

/**
 * Builds frames in one reused buffer. The frame starts 0 or 2 bytes in, so that its payload is
 * 4-aligned for a Float32Array view (headers are 6, 8 or 14 bytes). For a steady chunk size the
 * header and the views are made once: a frame then costs the conversion loop only.
 */
export class Float32FrameBuilder {
  private buf: Buffer | undefined;
  /** Payload bytes the cached header and views are for (-1: none). */
  private cachedBytes = -1;
  private frame: Buffer | undefined;
  private payload: Float32Array | undefined;
  private payloadAt = 0;

  /** The frame of `samples` (a view of the builder's buffer, valid until the next build() unless
   *  release() was called). */
  build(samples: Int16Array): Buffer {
    const bytes = samples.length * 4;
    if (bytes > REUSE_MAX_PAYLOAD) return Float32FrameBuilder.oneOff(samples);
    if (bytes !== this.cachedBytes || this.buf === undefined) this.prepare(bytes);
    const payload = this.payload;
    if (payload !== undefined) toFloat32(samples, payload);
    else writeFloat32(samples, this.buf as Buffer, this.payloadAt);
    return this.frame as Buffer;
  }

  /** The last frame now belongs to someone else (a socket that has not written it yet): the next
   *  build() starts a new buffer. */
  release(): void {
    this.buf = undefined;
    this.cachedBytes = -1;
    this.frame = undefined;
    this.payload = undefined;
  }

  /** A frame in a buffer of its own. */
  static oneOff(samples: Int16Array): Buffer {
    const bytes = samples.length * 4;
    const header = maskedHeaderBytes(bytes);
    const lead = (4 - (header % 4)) % 4;
    const buf = Buffer.allocUnsafeSlow(lead + header + bytes);
    const payloadAt = writeMaskedBinaryHeader(buf, lead, bytes);
    writeFloat32(samples, buf, payloadAt);
    return buf.subarray(lead);
  }

  private prepare(bytes: number): void {
    const header = maskedHeaderBytes(bytes);
    const lead = (4 - (header % 4)) % 4;
    const size = lead + header + bytes;
    // allocUnsafeSlow: a buffer of its own (not a slice of Node's shared pool), so that its offset 0
    // is 8-aligned and the payload view 4-aligned. Sized by the chunks seen (grown when they grow).
    if (this.buf === undefined || this.buf.length < size) this.buf = Buffer.allocUnsafeSlow(size);
    const buf = this.buf;
    this.payloadAt = writeMaskedBinaryHeader(buf, lead, bytes);
    this.frame = buf.subarray(lead, this.payloadAt + bytes);
    this.payload = LITTLE_ENDIAN ? new Float32Array(buf.buffer, buf.byteOffset + this.payloadAt, bytes / 4) : undefined;
    this.cachedBytes = bytes;
  }
}

/**
 * Writes float32 frames to the WebSocket's TCP socket, one write per frame (direct-write.ts). The
 * caller guarantees the WebSocket is open and that nothing else writes to the socket in a way that
 * could split a frame (the `ws` library writes whole frames synchronously, in call order, when
 * per-message deflate is off, so frames of both stay whole and ordered).
 */
export class Float32FrameWriter {
  private readonly builder = new Float32FrameBuilder();

  constructor(private readonly out: ByteWriter) {}

  /** True when the frame went to the kernel whole (nothing queued in the socket). */
  write(samples: Int16Array): boolean {
    if (this.out(this.builder.build(samples))) return true;
    // The socket references the frame until flushed: the next one is built in a new buffer.
    this.builder.release();
    return false;
  }
}

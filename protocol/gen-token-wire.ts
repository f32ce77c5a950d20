// gen.token written by hand: the one frame sent per generated token, so the gateway's hottest
// encode. The bytes are exactly what the generic msgpack encoder writes for the message with its
// keys in SPEC order (t, seq, turn, i, n, text), as the golden vectors have them; anything outside
// the fast path's ranges (a seq, i or n past 2^32 - 1, an unusual shape) returns undefined and the
// caller uses the generic encoder.
import type { GenTokenMsg } from './messages.ts';
import { MAX_RETAINED_ENCODE_BYTES } from './reused-encoder.ts';

const INITIAL_BYTES = 256;

// Pre-encoded map header, keys and the type value (fixstr = 0xa0 | length).
const HEAD = Uint8Array.of(0x86, 0xa1, 0x74, 0xa9, ...ascii('gen.token'), 0xa3, ...ascii('seq'));
const KEY_TURN = Uint8Array.of(0xa4, ...ascii('turn'));
const KEY_I = Uint8Array.of(0xa1, 0x69);
const KEY_N = Uint8Array.of(0xa1, 0x6e);
const KEY_TEXT = Uint8Array.of(0xa4, ...ascii('text'));

function ascii(s: string): number[] {
  return [...s].map((c) => c.charCodeAt(0));
}

/** UTF-8 length of a JS string (lone surrogates count as U+FFFD, 3 bytes, like TextEncoder). */
function utf8Length(s: string): number {
  let n = 0;
  for (let k = 0; k < s.length; k++) {
    const c = s.charCodeAt(k);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && k + 1 < s.length) {
      const d = s.charCodeAt(k + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        k++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

const isUint32 = (v: number): boolean => Number.isInteger(v) && v >= 0 && v <= 0xffff_ffff;

export class GenTokenWire {
  private buf = new Uint8Array(INITIAL_BYTES);
  private view = new DataView(this.buf.buffer);
  private pos = 0;
  private readonly utf8 = new TextEncoder();

  /** The frame's bytes: a view into this writer's buffer, valid until its next encode. A buffer grown
   *  past MAX_RETAINED_ENCODE_BYTES (a huge token text) is dropped after the frame is written; the
   *  returned view keeps it alive only as long as the caller holds the frame. */
  encode(m: GenTokenMsg): Uint8Array | undefined {
    if (!isUint32(m.seq) || !isUint32(m.i) || !isUint32(m.n) || typeof m.turn !== 'string' || typeof m.text !== 'string') {
      return undefined;
    }
    const turnBytes = utf8Length(m.turn);
    const textBytes = utf8Length(m.text);
    // Upper bound: fixed parts (header, keys, type) 40 B, 3 uints ≤ 15 B, 2 string headers ≤ 10 B.
    this.ensure(72 + turnBytes + textBytes);
    this.pos = 0;
    this.put(HEAD);
    this.uint(m.seq);
    this.put(KEY_TURN);
    this.str(m.turn, turnBytes);
    this.put(KEY_I);
    this.uint(m.i);
    this.put(KEY_N);
    this.uint(m.n);
    this.put(KEY_TEXT);
    this.str(m.text, textBytes);
    const out = this.buf.subarray(0, this.pos);
    if (this.buf.length > MAX_RETAINED_ENCODE_BYTES) this.setBuffer(new Uint8Array(INITIAL_BYTES));
    return out;
  }

  /** Bytes of buffer this writer keeps between frames (for tests and memory accounting). */
  get retainedBytes(): number {
    return this.buf.length;
  }

  private ensure(bytes: number): void {
    if (bytes <= this.buf.length) return;
    let size = this.buf.length;
    while (size < bytes) size *= 2;
    this.setBuffer(new Uint8Array(size));
  }

  private setBuffer(buf: Uint8Array<ArrayBuffer>): void {
    this.buf = buf;
    this.view = new DataView(buf.buffer);
  }

  private put(bytes: Uint8Array): void {
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  /** Smallest msgpack unsigned form, as @msgpack/msgpack writes it. */
  private uint(v: number): void {
    const b = this.buf;
    if (v < 0x80) b[this.pos++] = v;
    else if (v < 0x100) {
      b[this.pos++] = 0xcc;
      b[this.pos++] = v;
    } else if (v < 0x10000) {
      b[this.pos++] = 0xcd;
      this.view.setUint16(this.pos, v);
      this.pos += 2;
    } else {
      b[this.pos++] = 0xce;
      this.view.setUint32(this.pos, v);
      this.pos += 4;
    }
  }

  /** str header (fixstr, str8, str16, str32 by length) and the UTF-8 bytes. */
  private str(s: string, bytes: number): void {
    const b = this.buf;
    if (bytes < 32) b[this.pos++] = 0xa0 | bytes;
    else if (bytes < 0x100) {
      b[this.pos++] = 0xd9;
      b[this.pos++] = bytes;
    } else if (bytes < 0x10000) {
      b[this.pos++] = 0xda;
      this.view.setUint16(this.pos, bytes);
      this.pos += 2;
    } else {
      b[this.pos++] = 0xdb;
      this.view.setUint32(this.pos, bytes);
      this.pos += 4;
    }
    if (bytes === s.length) {
      // ASCII: one byte per code unit, no encoder call.
      for (let k = 0; k < bytes; k++) b[this.pos + k] = s.charCodeAt(k);
    } else {
      this.utf8.encodeInto(s, b.subarray(this.pos, this.pos + bytes));
    }
    this.pos += bytes;
  }
}

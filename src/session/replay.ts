// Bounded replay buffer of the frames already sequenced for one session, kept so a client that
// reconnects can resume from its last seen seq. Frames are stored as msgpack bytes in one byte
// buffer (typed-array memory, outside the JS heap): the sent frame objects die young instead of
// being promoted by the GC, which keeps scavenge pauses short on the per-token path. Oldest frames
// fall off when either bound (frames, bytes) is exceeded; `ack` frees them early.
import { Decoder } from '@msgpack/msgpack';
import type { ServerMessage } from '../../protocol/messages.ts';
import { ReusedEncoder } from '../../protocol/reused-encoder.ts';

/** Encoder for frames that were not already encoded as msgpack by the connection (shared by every
 *  session; it drops its buffer after a large frame). Exported for tests. */
export const replayEncoder = new ReusedEncoder();
const decoder = new Decoder();
const INITIAL_BYTES = 2048;
/** Index slots allocated at first; the index doubles as frames are kept, up to `capacity`. */
const INITIAL_SLOTS = 64;

export class ReplayRing {
  /** Lazily allocated: sessions that never send hold no buffer. */
  private bytes: Uint8Array | undefined;
  /** Per stored frame, oldest first from `head`: its seq, byte offset and length. */
  private seqs: Int32Array | undefined;
  private offs: Int32Array | undefined;
  private lens: Int32Array | undefined;
  /** Index slots allocated (≤ capacity): the ring's modulus. */
  private slots = 0;
  private head = 0;
  private size = 0;
  /** Byte offset where the oldest stored frame starts, and where the next one is appended. */
  private startOff = 0;
  private endOff = 0;

  constructor(
    readonly capacity: number,
    readonly maxBytes = 256 * 1024,
  ) {}

  get length(): number {
    return this.size;
  }

  /** Bytes currently allocated (for tests and memory accounting). */
  get allocatedBytes(): number {
    return (this.bytes?.byteLength ?? 0) + this.slots * 12;
  }

  /** Store a sequenced frame. `encoded` = its msgpack bytes when the caller already has them
   *  (valid only during this call: they are copied). */
  add(msg: ServerMessage, encoded?: Uint8Array): void {
    // A resuming client has its `ready` by definition (it carries the session id and token), and
    // gets a fresh one; not storing it keeps idle sessions free of any replay buffer.
    if (this.capacity === 0 || msg.t === 'ready') return;
    const data = encoded ?? replayEncoder.encode(msg);
    const len = data.byteLength;
    if (len > this.maxBytes) {
      this.clear(); // a frame larger than the whole buffer cannot be kept; older ones would be stale
      return;
    }
    if (this.size === this.capacity) this.dropOldest();
    while (this.size > 0 && this.endOff - this.startOff + len > this.maxBytes) this.dropOldest();
    this.reserve(len);
    if (this.size === this.slots) this.growIndex();
    const bytes = this.bytes as Uint8Array;
    bytes.set(data, this.endOff);
    const slot = (this.head + this.size) % this.slots;
    (this.seqs as Int32Array)[slot] = msg.seq;
    (this.offs as Int32Array)[slot] = this.endOff;
    (this.lens as Int32Array)[slot] = len;
    this.endOff += len;
    this.size++;
  }

  /** Drop every frame with seq <= `seq` (the client has processed them). */
  ack(seq: number): void {
    while (this.size > 0 && ((this.seqs as Int32Array)[this.head] as number) <= seq) this.dropOldest();
    if (this.size === 0) this.clear();
  }

  /** Frames with seq > lastSeq, or undefined when some of them are no longer held. */
  since(lastSeq: number, currentSeq: number): ServerMessage[] | undefined {
    if (lastSeq >= currentSeq) return lastSeq === currentSeq ? [] : undefined;
    const out: ServerMessage[] = [];
    for (let k = 0; k < this.size; k++) {
      const slot = (this.head + k) % this.slots;
      const seq = (this.seqs as Int32Array)[slot] as number;
      if (seq <= lastSeq) continue;
      const off = (this.offs as Int32Array)[slot] as number;
      const len = (this.lens as Int32Array)[slot] as number;
      out.push(decoder.decode((this.bytes as Uint8Array).subarray(off, off + len)) as ServerMessage);
    }
    const first = out[0];
    if (!first || first.seq !== lastSeq + 1) return undefined;
    return out;
  }

  private dropOldest(): void {
    const len = (this.lens as Int32Array)[this.head] as number;
    this.startOff += len;
    this.head = (this.head + 1) % this.slots;
    this.size--;
  }

  private clear(): void {
    this.bytes = undefined;
    this.seqs = this.offs = this.lens = undefined;
    this.slots = this.head = this.size = this.startOff = this.endOff = 0;
  }

  /** The index is full (size === slots < capacity): double it (at most capacity), oldest first. */
  private growIndex(): void {
    const next = Math.min(this.capacity, Math.max(INITIAL_SLOTS, this.slots * 2));
    const seqs = new Int32Array(next);
    const offs = new Int32Array(next);
    const lens = new Int32Array(next);
    for (let k = 0; k < this.size; k++) {
      const slot = (this.head + k) % this.slots;
      seqs[k] = (this.seqs as Int32Array)[slot] as number;
      offs[k] = (this.offs as Int32Array)[slot] as number;
      lens[k] = (this.lens as Int32Array)[slot] as number;
    }
    this.seqs = seqs;
    this.offs = offs;
    this.lens = lens;
    this.slots = next;
    this.head = 0;
  }

  /** Make room for `len` more bytes at endOff: compact to the front, or grow (up to maxBytes). */
  private reserve(len: number): void {
    const live = this.endOff - this.startOff;
    const have = this.bytes?.byteLength ?? 0;
    if (this.endOff + len <= have) return;
    let cap = Math.max(INITIAL_BYTES, have);
    while (cap < live + len) cap *= 2;
    cap = Math.min(cap, this.maxBytes);
    const next = cap === have && this.bytes ? this.bytes : new Uint8Array(cap);
    if (this.bytes && live > 0) {
      if (next === this.bytes) next.copyWithin(0, this.startOff, this.endOff);
      else next.set(this.bytes.subarray(this.startOff, this.endOff), 0);
    }
    this.bytes = next;
    const shift = this.startOff;
    for (let k = 0; k < this.size; k++) {
      const slot = (this.head + k) % this.slots;
      (this.offs as Int32Array)[slot] = ((this.offs as Int32Array)[slot] as number) - shift;
    }
    this.startOff = 0;
    this.endOff = live;
  }
}

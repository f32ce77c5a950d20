// WebM Opus (Chrome's and Firefox's MediaRecorder `audio/webm;codecs=opus`) split at arbitrary byte
// boundaries → Opus packets, with prism-media's opus.WebmDemuxer driven synchronously (its
// _transform called directly, `push` overridden to collect packets).
//
// Hardening of prism-media 1.3.5's EBML reader (internals: _readTag, _readTagDataSize,
// _readEBMLId, _remainder, _count; the tests exercise every guard):
//   - element sizes are computed with 32-bit shifts, so 5..8-byte sizes can come out negative and
//     send the reader backwards, forever on a crafted stream: every element must move the reader
//     forward, negative sizes are refused except the "unknown size" of master elements (Segment
//     and Cluster in MediaRecorder output), and IDs must be 1..4 bytes;
//   - it skips any element it does not know, however large: a few garbage bytes read as a huge
//     element silently swallowed the rest of the stream. Only IDs valid where it reads are
//     accepted, and skipped elements are at most 16 MiB;
//   - its pending buffer is unbounded: over MAX_PENDING_CONTAINER_BYTES it is dropped;
//   - it never recovers from an error: we start a new demuxer, replay the stream header recorded
//     before the first Cluster (≤ 64 KiB) into it, and resume at the next Cluster (or at a new
//     EBML header, i.e. a new stream).
// Limits: Block inside BlockGroup is skipped (ffmpeg writes its last packet so: −20 ms at the
// end), laced blocks are not split, track numbers above 15 are not seen (prism-media).
import prism from 'prism-media';
import { ByteQueue } from './byte-queue.ts';
import { indexOfPattern } from './bytes.ts';
import { MAX_PENDING_CONTAINER_BYTES, type DemuxResult, type OpusDemuxer } from './demux.ts';
import { parseOpusHead } from './opus-head.ts';

const EBML_ID = [0x1a, 0x45, 0xdf, 0xa3];
const CLUSTER_ID = [0x1f, 0x43, 0xb6, 0x75];
const CLUSTER_HEX = '1f43b675';
/** The stream header (EBML, Segment, Info, Tracks, ...) kept for resynchronisation, at most. */
const MAX_HEADER_BYTES = 64 * 1024;
/** An element prism-media skips (SeekHead, Cues, Tags, ...) larger than this is taken for garbage. */
const MAX_SKIPPED_ELEMENT_BYTES = 16 << 20;

/** Matroska/WebM element IDs that may occur where prism-media reads: the top level and the
 *  children of EBML, Segment, Cluster, Tracks and TrackEntry (it descends into no others). WebM
 *  has no checksums: an ID outside this set is how corrupt bytes show. */
const KNOWN_IDS = new Set([
  // top level, EBML header
  '1a45dfa3', '18538067', '4286', '42f7', '42f2', '42f3', '4282', '4287', '4285', 'ec', 'bf',
  // Segment
  '114d9b74', '1549a966', '1f43b675', '1654ae6b', '1c53bb6b', '1941a469', '1043a770', '1254c367',
  // Cluster
  'e7', '5854', 'a7', 'ab', 'a3', 'a0', 'af',
  // Tracks, TrackEntry
  'ae', 'd7', '73c5', '83', 'b9', '88', '55aa', '55ab', '55ac', '55ad', '55ae', '55af', '9c', '6de7',
  '6df8', '23e383', '234e7a', '23314f', '537f', '55ee', '41e4', '536e', '22b59c', '22b59d', '86',
  '63a2', '258688', '7446', '3a9697', '3b4040', '26b240', 'aa', '6fab', '56aa', '56bb', '6624', 'e0',
  'e1', 'e2', '6d80',
]);

type TooShort = symbol;
interface TagResult {
  offset: number;
  _skipUntil?: number;
}
interface SizeResult {
  offset: number;
  dataLength: number;
  sizeLength: number;
}
interface IdResult {
  id: Buffer;
  offset: number;
}
/** The prism-media 1.3.5 internals used here (see the header comment). */
interface WebmInternals {
  _remainder: Buffer | null;
  _count: number;
  _readTag(chunk: Buffer, offset: number): TagResult | TooShort;
  _readTagDataSize(chunk: Buffer, offset: number): SizeResult | TooShort;
  _readEBMLId(chunk: Buffer, offset: number): IdResult | TooShort;
}
const Base = prism.opus.WebmDemuxer;
const baseProto = Base.prototype as unknown as WebmInternals;
const statics = Base as unknown as { TOO_SHORT: TooShort; TAGS: Record<string, boolean> };
const TOO_SHORT = statics.TOO_SHORT;
const TAGS = statics.TAGS;

class GuardedWebmDemuxer extends Base {
  packets: Uint8Array[] = [];
  head: Uint8Array | undefined;
  /** Absolute stream offset of the first Cluster element, once the reader got there. */
  firstClusterAt: number | undefined;
  /** The element being read has children (its size may be "unknown"). */
  private masterElement = false;

  constructor() {
    super();
    if (typeof statics.TOO_SHORT !== 'symbol' || typeof baseProto._readTag !== 'function') {
      throw new Error('prism-media WebmDemuxer internals changed; webm.ts needs updating');
    }
    this.on('head', (data: Buffer) => {
      this.head = data;
    });
  }

  override push(chunk: unknown): boolean {
    if (chunk instanceof Uint8Array) this.packets.push(chunk);
    return true;
  }

  private get internals(): WebmInternals {
    return this as unknown as WebmInternals;
  }

  feed(bytes: Buffer): Error | undefined {
    let failure: Error | undefined;
    this._transform(bytes, 'binary', (err) => {
      if (err) failure = err;
    });
    return failure;
  }

  get pendingBytes(): number {
    return this.internals._remainder?.length ?? 0;
  }

  _readTag(chunk: Buffer, offset: number): TagResult | TooShort {
    const first = chunk[offset];
    if (first !== undefined && first < 0x10) throw new Error('invalid EBML element ID');
    const id = baseProto._readEBMLId.call(this, chunk, offset);
    if (id === TOO_SHORT) return TOO_SHORT;
    const hex = (id as IdResult).id.toString('hex');
    if (!KNOWN_IDS.has(hex)) throw new Error(`unexpected EBML element ${hex}`);
    this.masterElement = TAGS[hex] === true;
    if (hex === CLUSTER_HEX && this.firstClusterAt === undefined) this.firstClusterAt = this.internals._count + offset;
    const r = baseProto._readTag.call(this, chunk, offset);
    if (r === TOO_SHORT) return r;
    const res = r as TagResult;
    if (!(res.offset > offset)) throw new Error('malformed EBML element');
    return res;
  }

  _readTagDataSize(chunk: Buffer, offset: number): SizeResult | TooShort {
    const r = baseProto._readTagDataSize.call(this, chunk, offset);
    if (r === TOO_SHORT) return r;
    const res = r as SizeResult;
    if (res.sizeLength > 8) throw new Error('invalid EBML element size');
    if (!this.masterElement && (res.dataLength < 0 || res.dataLength > MAX_SKIPPED_ELEMENT_BYTES)) {
      throw new Error('EBML element size out of range');
    }
    return res;
  }
}

export class WebmOpusDemuxer implements OpusDemuxer {
  private demuxer = new GuardedWebmDemuxer();
  /** Bytes of the current stream from its EBML header up to the first Cluster (while recording). */
  private header: ByteQueue | undefined = new ByteQueue(MAX_HEADER_BYTES);
  /** The complete stream header, once the first Cluster was reached. */
  private streamHeader: Buffer | undefined;
  private resyncing = false;
  /** Last bytes seen while resyncing (an ID split across chunks). */
  private carry: Uint8Array = new Uint8Array(0);

  get pendingBytes(): number {
    return this.demuxer.pendingBytes + this.carry.length;
  }

  push(bytes: Uint8Array): DemuxResult {
    const result: DemuxResult = { packets: [] };
    let data = bytes;
    if (this.resyncing) {
      const joined = concat(this.carry, data);
      const cluster = this.streamHeader ? indexOfPattern(joined, CLUSTER_ID) : -1;
      const ebml = indexOfPattern(joined, EBML_ID);
      if (cluster < 0 && ebml < 0) {
        this.carry = joined.slice(Math.max(0, joined.length - (CLUSTER_ID.length - 1)));
        return result;
      }
      this.resyncing = false;
      this.carry = new Uint8Array(0);
      this.demuxer = new GuardedWebmDemuxer();
      if (ebml >= 0 && (cluster < 0 || ebml < cluster)) {
        data = joined.subarray(ebml); // a new stream
        this.header = new ByteQueue(MAX_HEADER_BYTES);
        this.streamHeader = undefined;
      } else {
        data = joined.subarray(cluster);
        this.demuxer.feed(this.streamHeader as Buffer); // no packets: it ends before the first Cluster
        this.demuxer.head = undefined; // the same stream: do not trim its pre-skip again
      }
    }
    this.feed(data, result);
    return result;
  }

  private feed(data: Uint8Array, result: DemuxResult): void {
    const d = this.demuxer;
    if (this.header) this.header.append(data.subarray(0, this.header.capacity - this.header.length));
    d.packets = [];
    d.head = undefined;
    const err = d.feed(Buffer.from(data)); // a copy: prism keeps views into it
    result.packets.push(...d.packets);
    if (d.head) {
      try {
        result.head = parseOpusHead(d.head);
      } catch (e) {
        return this.lose(result, e instanceof Error ? e.message : String(e));
      }
    }
    if (this.header && d.firstClusterAt !== undefined) {
      // Replayable only when the whole header fitted in the bounded record.
      if (d.firstClusterAt <= this.header.length) this.streamHeader = Buffer.from(this.header.view().subarray(0, d.firstClusterAt));
      this.header = undefined;
    }
    if (err) return this.lose(result, `bad WebM data: ${err.message}`);
    if (d.pendingBytes > MAX_PENDING_CONTAINER_BYTES) {
      return this.lose(result, `a WebM element larger than ${MAX_PENDING_CONTAINER_BYTES} bytes`);
    }
  }

  /** Sync is lost: drop what is held and look for the next Cluster (or a new stream). */
  private lose(result: DemuxResult, why: string): void {
    result.error = why;
    this.resyncing = true;
    this.carry = new Uint8Array(0);
    this.demuxer = new GuardedWebmDemuxer();
    this.header = undefined;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}


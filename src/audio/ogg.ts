// Ogg Opus (RFC 7845; Firefox's MediaRecorder, ffmpeg) split at arbitrary byte boundaries → Opus
// packets. Page framing, checksum and resynchronisation are done here; each complete, verified
// page then goes through prism-media's opus.OggDemuxer, which picks the Opus logical stream and
// splits pages into packets. prism-media is driven synchronously: its _transform is called
// directly with `push` overridden to collect packets, so decode(chunk) gets the packets of that
// chunk before it returns (Transform.write() would also emit 'data' synchronously in Node 20 once
// flowing, but a failed _transform destroys the stream for good).
//
// Limits: a packet continued across pages (lacing value 255 at a page end) is not supported; such
// pages are dropped and reported (MediaRecorder and ffmpeg do not split voice packets).
import prism from 'prism-media';
import { ByteQueue } from './byte-queue.ts';
import { indexOfPattern, startsWith } from './bytes.ts';
import { MAX_PENDING_CONTAINER_BYTES, type DemuxResult, type OpusDemuxer } from './demux.ts';
import { oggPageCrc } from './ogg-crc.ts';
import { parseOpusHead } from './opus-head.ts';

const HEADER_BYTES = 27;
const CAPTURE = [0x4f, 0x67, 0x67, 0x53]; // "OggS"
const FLAG_CONTINUED = 0x01;
const FLAG_BOS = 0x02;
const OPUS_HEAD_MAGIC = [0x4f, 0x70, 0x75, 0x73, 0x48, 0x65, 0x61, 0x64]; // "OpusHead"

/** prism-media's demuxer with its output collected synchronously instead of streamed. */
class CollectingOggDemuxer extends prism.opus.OggDemuxer {
  packets: Uint8Array[] = [];
  head: Uint8Array | undefined;

  constructor() {
    super();
    this.on('head', (segment: Buffer) => {
      this.head = segment;
    });
  }

  override push(chunk: unknown): boolean {
    if (chunk instanceof Uint8Array) this.packets.push(chunk);
    return true;
  }

  /** Runs one complete page through the demuxer; returns its error, if any. */
  feed(page: Buffer): Error | undefined {
    let failure: Error | undefined;
    this._transform(page, 'binary', (err) => {
      if (err) failure = err;
    });
    return failure;
  }
}

export class OggOpusDemuxer implements OpusDemuxer {
  private readonly queue = new ByteQueue(MAX_PENDING_CONTAINER_BYTES);
  private demuxer = new CollectingOggDemuxer();
  /** Why the current stream's packets are dropped (unsupported OpusHead), if they are. */
  private rejected: string | undefined;

  get pendingBytes(): number {
    return this.queue.length;
  }

  push(bytes: Uint8Array): DemuxResult {
    const result: DemuxResult = { packets: [] };
    const fail = (why: string): void => {
      result.error ??= why;
    };
    if (!this.queue.append(bytes)) {
      // Only a chunk larger than the bound itself can get here: a page is at most 65 307 bytes.
      this.queue.clear();
      fail(`more than ${MAX_PENDING_CONTAINER_BYTES} bytes of Ogg data without a complete page`);
      return result;
    }
    for (;;) {
      const v = this.queue.view();
      if (v.length < CAPTURE.length) break;
      const at = indexOfPattern(v, CAPTURE);
      if (at !== 0) {
        // Not at a page start: skip to the next capture pattern (keep a possible partial one).
        this.queue.consume(at < 0 ? v.length - (CAPTURE.length - 1) : at);
        fail('bytes outside an Ogg page (lost page sync)');
        if (at < 0) break;
        continue;
      }
      if (v.length < HEADER_BYTES) break;
      if (v[4] !== 0) {
        this.queue.consume(1);
        fail(`Ogg stream structure version ${String(v[4])} is not 0`);
        continue;
      }
      const segments = v[26] as number;
      if (v.length < HEADER_BYTES + segments) break;
      let body = 0;
      for (let i = 0; i < segments; i++) body += v[HEADER_BYTES + i] as number;
      const pageLen = HEADER_BYTES + segments + body;
      if (v.length < pageLen) break;
      const page = v.subarray(0, pageLen);
      const stored = new DataView(page.buffer, page.byteOffset, pageLen).getUint32(22, true);
      if (oggPageCrc(page) !== stored) {
        this.queue.consume(1);
        fail('Ogg page checksum mismatch');
        continue;
      }
      this.page(page, segments, result, fail);
      this.queue.consume(pageLen);
    }
    return result;
  }

  private page(page: Uint8Array, segments: number, result: DemuxResult, fail: (why: string) => void): void {
    const flags = page[5] as number;
    const lastLacing = segments > 0 ? (page[HEADER_BYTES + segments - 1] as number) : 0;
    if (flags & FLAG_CONTINUED || lastLacing === 255) {
      fail('Ogg packets continued across pages are not supported');
      return;
    }
    const bodyStart = HEADER_BYTES + segments;
    if (flags & FLAG_BOS && startsWith(page.subarray(bodyStart), OPUS_HEAD_MAGIC)) {
      this.demuxer = new CollectingOggDemuxer(); // a new (chained) Opus stream starts here
      this.rejected = undefined;
    }
    const d = this.demuxer;
    d.packets = [];
    d.head = undefined;
    const err = d.feed(Buffer.from(page)); // a copy: packets may outlive the caller's chunk
    if (err) fail(`bad Ogg page: ${err.message}`);
    if (d.head) {
      try {
        result.head = parseOpusHead(d.head);
      } catch (e) {
        this.rejected = e instanceof Error ? e.message : String(e);
      }
    }
    if (this.rejected !== undefined) {
      fail(this.rejected);
      return;
    }
    result.packets.push(...d.packets);
  }
}

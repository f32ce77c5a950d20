// What the Opus container demuxers (ogg.ts, webm.ts) give the decoder.
import type { OpusHead } from './opus-head.ts';

/** Container bytes a demuxer may hold while waiting for the rest of a page/element. */
export const MAX_PENDING_CONTAINER_BYTES = 1 << 20;

export interface DemuxResult {
  /** Opus packets completed by the bytes pushed, in stream order. */
  packets: Uint8Array[];
  /** Set when a new stream's OpusHead was read (the decoder then trims its pre-skip). */
  head?: OpusHead;
  /** Set when bytes had to be discarded (corrupt, unsupported, over the pending bound): why. The
   *  demuxer resynchronises by itself; packets before the fault are still in `packets`. */
  error?: string;
}

export interface OpusDemuxer {
  /** Feeds the next bytes of the container, split anywhere. */
  push(bytes: Uint8Array): DemuxResult;
  /** Container bytes held (incomplete page/element). */
  readonly pendingBytes: number;
}

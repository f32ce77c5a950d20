// The Segmenter port: open-vocabulary detection + segmentation (Grounded-SAM) as seen by the session.
// Adapters map their vendor wire format and errors here; the session branches on capabilities only.

export interface SegmenterCapabilities {
  /** Sends one mask per detected instance (false = boxes only). */
  masks: boolean;
  /** Can use the HQ-SAM mask decoder when asked (`hq`). */
  hq: boolean;
}

export interface SegmentImage {
  /** Encoded JPEG, PNG or WebP bytes, already checked and fitted by the image pipeline. */
  bytes: Uint8Array;
  mime: string;
  /** Pixels of `bytes`; every box and mask refers to this size. */
  width: number;
  height: number;
}

export interface SegmentRequest {
  image: SegmentImage;
  /** What to find, one noun phrase each ("dog", "red car"). */
  phrases: string[];
  /** Keep a detection when its best token score is > boxThreshold (0..1, exclusive). */
  boxThreshold: number;
  /** Tokens scoring > textThreshold make up the phrase of a detection (0..1, exclusive). */
  textThreshold: number;
  /** Use HQ-SAM when the backend has it (capabilities.hq). */
  hq?: boolean;
  /** Aborting it must close the upstream request at once. */
  signal: AbortSignal;
}

export interface SegmentBox {
  /** Instance id, unique within the request; mask events refer to it. */
  id: number;
  label: string;
  /** 0..1 detection confidence. */
  score: number;
  /** Pixels [x0, y0, x1, y1] in the request image. */
  box: [number, number, number, number];
}

export type SegmentEvent =
  /** Detection finished: every box, once, first. `size` = [height, width] of the image. */
  | { kind: 'boxes'; size: [number, number]; boxes: SegmentBox[] }
  /** One instance's mask as soon as it is ready; `rle` = COCO compressed RLE over the whole image. */
  | { kind: 'mask'; id: number; label: string; score: number; rle: { size: [number, number]; counts: string } }
  /** Last event: how many boxes and masks were sent. */
  | { kind: 'done'; boxes: number; masks: number };

export interface SegmenterBackend {
  /** Stable id for logs/metrics. Never branch on it. */
  readonly id: string;
  readonly capabilities: SegmenterCapabilities;
  /** Streams `boxes`, then zero or more `mask`, then exactly one `done`. Throws VlpError
   *  (UPSTREAM_* codes) on failure, or an AbortError when `signal` aborted. Breaking out of the
   *  iteration early must also close the upstream request. */
  segment(req: SegmentRequest): AsyncIterable<SegmentEvent>;
  /** Cheap liveness probe (GET /health); for circuit breakers and /readyz. */
  probe(timeoutMs: number): Promise<boolean>;
  /** Release pooled connections. */
  close(): Promise<void>;
}

// Decoding and shape checks of one NDJSON line of POST /detect_segment (protocol/GROUNDED-SAM.md)
// into the Segmenter port's events, enforcing the order boxes → masks → done.
import { stringToCounts } from '../../../protocol/rle.ts';
import type { SegmentBox, SegmentEvent } from '../segmenter-port.ts';
import { gsamLineError, gsamProtocolError } from './errors.ts';
import { MAX_INSTANCES } from './request.ts';

/** Boxes may overshoot the image by this much (float rounding upstream), pixels; they are clamped. */
const BOX_SLACK_PX = 1;
const RLE_CHARS = /^[0-o]*$/;

/** What one stream has seen so far; `parseLine` checks each line against it and updates it. */
export class StreamState {
  /** Box ids not yet given a mask. */
  private readonly waiting = new Set<number>();
  private sawBoxes = false;
  boxes = 0;
  masks = 0;

  /** [height, width] of the image sent. */
  constructor(private readonly size: readonly [number, number]) {}

  parseLine(line: string): SegmentEvent {
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      throw gsamProtocolError('line is not JSON');
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw gsamProtocolError('line is not a JSON object');
    const o = v as Record<string, unknown>;
    switch (o.type) {
      case 'error':
        throw gsamLineError(o.error, o.error_type);
      case 'boxes':
        return this.boxesEvent(o);
      case 'mask':
        return this.maskEvent(o);
      case 'done':
        return this.doneEvent(o);
      default:
        throw gsamProtocolError('line has an unknown type');
    }
  }

  private checkSize(size: unknown, what: string): [number, number] {
    if (!Array.isArray(size) || size.length !== 2 || size[0] !== this.size[0] || size[1] !== this.size[1]) {
      throw gsamProtocolError(`${what} size is not the image size`);
    }
    return [this.size[0], this.size[1]];
  }

  private boxesEvent(o: Record<string, unknown>): SegmentEvent {
    if (this.sawBoxes) throw gsamProtocolError('second boxes line');
    this.sawBoxes = true;
    const size = this.checkSize(o.size, 'boxes');
    if (!Array.isArray(o.boxes)) throw gsamProtocolError('boxes is not an array');
    // Every request asks for at most MAX_INSTANCES, and the service cuts to max_instances before
    // numbering (protocol/GROUNDED-SAM.md): more is a broken service, not extra answers.
    if (o.boxes.length > MAX_INSTANCES) throw gsamProtocolError(`more than max_instances (${MAX_INSTANCES}) boxes`);
    const boxes = o.boxes.map((b: unknown) => this.box(b));
    this.boxes = boxes.length;
    return { kind: 'boxes', size, boxes };
  }

  private box(b: unknown): SegmentBox {
    if (typeof b !== 'object' || b === null) throw gsamProtocolError('box is not an object');
    const r = b as Record<string, unknown>;
    const { id, label, score } = r;
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) throw gsamProtocolError('box id is not a non-negative integer');
    if (this.waiting.has(id)) throw gsamProtocolError('duplicate box id');
    if (typeof label !== 'string') throw gsamProtocolError('box label is not a string');
    if (!isScore(score)) throw gsamProtocolError('box score is not in 0..1');
    const xyxy = r.box;
    if (!Array.isArray(xyxy) || xyxy.length !== 4 || !xyxy.every((n) => typeof n === 'number' && Number.isFinite(n))) {
      throw gsamProtocolError('box is not [x0, y0, x1, y1]');
    }
    const [h, w] = this.size;
    const [x0, y0, x1, y1] = xyxy as [number, number, number, number];
    const s = BOX_SLACK_PX;
    if (x0 < -s || y0 < -s || x1 > w + s || y1 > h + s || x0 > x1 || y0 > y1) throw gsamProtocolError('box is outside the image');
    this.waiting.add(id);
    return { id, label, score, box: [clamp(x0, w), clamp(y0, h), clamp(x1, w), clamp(y1, h)] };
  }

  private maskEvent(o: Record<string, unknown>): SegmentEvent {
    if (!this.sawBoxes) throw gsamProtocolError('mask before boxes');
    const { id, label, score, rle } = o;
    if (typeof id !== 'number' || !this.waiting.delete(id)) throw gsamProtocolError('mask for an unknown or already masked box');
    if (typeof label !== 'string') throw gsamProtocolError('mask label is not a string');
    if (!isScore(score)) throw gsamProtocolError('mask score is not in 0..1');
    if (typeof rle !== 'object' || rle === null) throw gsamProtocolError('mask rle is not an object');
    const r = rle as Record<string, unknown>;
    const size = this.checkSize(r.size, 'mask');
    const counts = r.counts;
    if (typeof counts !== 'string' || !RLE_CHARS.test(counts)) throw gsamProtocolError("mask counts is not a string of '0'..'o'");
    checkCoverage(counts, size);
    this.masks++;
    return { kind: 'mask', id, label, score, rle: { size, counts } };
  }

  private doneEvent(o: Record<string, unknown>): SegmentEvent {
    if (!this.sawBoxes) throw gsamProtocolError('done before boxes');
    if (o.boxes !== this.boxes || o.masks !== this.masks) throw gsamProtocolError('done counts differ from the lines received');
    return { kind: 'done', boxes: this.boxes, masks: this.masks };
  }
}

/** The RLE must cover exactly h×w pixels (catches truncated or mis-sized masks). */
function checkCoverage(counts: string, [h, w]: [number, number]): void {
  let total = 0;
  try {
    for (const c of stringToCounts(counts)) total += c;
  } catch {
    throw gsamProtocolError('mask counts do not decode');
  }
  if (total !== h * w) throw gsamProtocolError('mask counts do not cover the image');
}

function isScore(v: unknown): v is number {
  return typeof v === 'number' && v >= 0 && v <= 1;
}

function clamp(v: number, max: number): number {
  return v < 0 ? 0 : v > max ? max : v;
}

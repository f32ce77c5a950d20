// Cheap size estimate of a server frame waiting in the outbox, for its byte bound
// (limits.outboxMaxBytes). It reads string lengths and walks the few small arrays a frame may carry;
// it never encodes. Text counts 3 bytes per UTF-16 code unit: the most one unit takes in UTF-8 (a
// surrogate pair, 2 units, is 4 bytes), and more than V8 holds it in (1 or 2 bytes), so a big text
// is never under-counted on the wire nor in the heap. COCO RLE counts are ASCII (the segmenter
// adapter decodes them before they are sent): 1 byte per unit. Numbers, flags, enums, the frame
// object and its keys count as a fixed overhead per frame and per array entry.
import type { ServerPayload } from '../../protocol/messages.ts';

/** Per frame: the JS object, its keys and small fields (numbers, flags, enums, seq). */
export const FRAME_OVERHEAD_BYTES = 64;
/** Per array entry (an intent score, a keyword, a model) or nested object (mask.frame.rle): its
 *  object and small fields. */
const ENTRY_BYTES = 48;
/** Per detection box: its object, id, score and the array of four coordinates. */
const BOX_BYTES = 96;
/** ready.limits, turn.metrics marks and counts: a handful of numbers each. */
const NUMBERS_BYTES = 128;

/** Bytes counted for a text of `s.length` UTF-16 code units (UTF-8 worst case). */
export function textBytes(s: string): number {
  return s.length * 3;
}

const optText = (s: string | undefined): number => (s === undefined ? 0 : textBytes(s));

function entriesBytes(labels: readonly string[]): number {
  let n = labels.length * ENTRY_BYTES;
  for (const s of labels) n += textBytes(s);
  return n;
}

/** Estimated bytes of one queued frame. A gen.token frame that grows by `text` grows by exactly
 *  textBytes(text), so the outbox can count merges without re-estimating. */
export function frameBytes(p: ServerPayload): number {
  switch (p.t) {
    case 'gen.token':
    case 'gen.done':
    case 'plan.step':
      return FRAME_OVERHEAD_BYTES + textBytes(p.turn) + textBytes(p.text);
    case 'asr.partial':
      return FRAME_OVERHEAD_BYTES + textBytes(p.stable) + textBytes(p.unstable);
    case 'asr.final':
      return FRAME_OVERHEAD_BYTES + textBytes(p.turn) + textBytes(p.text) + optText(p.language);
    case 'mask.frame':
      return FRAME_OVERHEAD_BYTES + ENTRY_BYTES + textBytes(p.turn) + textBytes(p.label) + p.rle.counts.length;
    case 'detect.boxes': {
      let n = FRAME_OVERHEAD_BYTES + textBytes(p.turn) + textBytes(p.image) + p.boxes.length * BOX_BYTES;
      for (const b of p.boxes) n += textBytes(b.label);
      return n;
    }
    case 'watch.event': {
      let n = FRAME_OVERHEAD_BYTES + textBytes(p.watch) + textBytes(p.label) + textBytes(p.image) + optText(p.turn) + p.boxes.length * BOX_BYTES;
      for (const b of p.boxes) n += textBytes(b.label);
      return n;
    }
    case 'intent.update': {
      let n = FRAME_OVERHEAD_BYTES + optText(p.turn) + entriesBytes(p.keywords) + p.labels.length * ENTRY_BYTES;
      for (const l of p.labels) n += textBytes(l.label);
      return n;
    }
    case 'ready': {
      let n = FRAME_OVERHEAD_BYTES + NUMBERS_BYTES + textBytes(p.session_id) + textBytes(p.resume_token);
      n += p.models.length * ENTRY_BYTES;
      for (const m of p.models) n += textBytes(m.id);
      return n;
    }
    case 'turn.started':
      return FRAME_OVERHEAD_BYTES + textBytes(p.turn) + textBytes(p.model);
    case 'turn.cancelled':
      return FRAME_OVERHEAD_BYTES + textBytes(p.turn);
    case 'turn.metrics':
      return FRAME_OVERHEAD_BYTES + NUMBERS_BYTES + textBytes(p.turn);
    case 'error':
      return FRAME_OVERHEAD_BYTES + textBytes(p.message) + optText(p.turn) + optText(p.ref);
    case 'pong':
    case 'vad':
    case 'asr.lag':
    case 'goaway':
      return FRAME_OVERHEAD_BYTES;
    default: {
      const never: never = p;
      throw new Error(`unknown frame type ${String((never as { t: unknown }).t)}`);
    }
  }
}

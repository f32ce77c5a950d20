// A pre-parse scan of untrusted JSON text (as UTF-8 bytes) that bounds nesting depth and value count.

// Why: JSON.parse has no such limits (deeply nested input costs seconds and GBs). This scan does not
// check JSON syntax (JSON.parse does) and allocates nothing per call.

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const COMMA = 0x2c;

export type JsonShapeVerdict = 'ok' | 'too_deep' | 'too_many_values';

/** UTF-8 continuation and lead bytes are >= 0x80, so byte-wise bracket counting is exact. */
export function scanJsonShape(bytes: Uint8Array, maxDepth: number, maxValues: number): JsonShapeVerdict {
  let depth = 0;
  let separators = 0; // commas outside strings: one per value after the first in a container
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > maxDepth) return 'too_deep';
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      depth--;
    } else if (c === COMMA) {
      if (++separators > maxValues) return 'too_many_values';
    }
  }
  return 'ok';
}

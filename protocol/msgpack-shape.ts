// A pre-decode scan of untrusted msgpack bytes: exactly one well-formed value, no ext types, bounded
// nesting depth and value count. It allocates nothing per call.

// Why: @msgpack/msgpack has no depth limit and allocates a state object per open container, so an
// 8 MiB frame of nested one-element arrays costs seconds of CPU and > 1 GB of memory to decode.

export const SHAPE_OK = 0;
/** Truncated, trailing bytes, or the never-used type byte 0xc1. */
export const SHAPE_MALFORMED = 1;
export const SHAPE_EXT = 2;
export const SHAPE_TOO_DEEP = 3;
export const SHAPE_TOO_MANY_VALUES = 4;
export type ShapeVerdict = 0 | 1 | 2 | 3 | 4;

export class MsgpackShapeScanner {
  /** Values still expected at each open container level; level 0 is the top-level value. */
  private readonly pending: Float64Array;

  constructor(
    private readonly maxDepth: number,
    private readonly maxValues: number,
  ) {
    this.pending = new Float64Array(maxDepth + 1);
  }

  scan(bytes: Uint8Array): ShapeVerdict {
    const len = bytes.length;
    const pending = this.pending;
    let pos = 0;
    let depth = 0;
    let values = 0;
    pending[0] = 1;
    for (;;) {
      while (pending[depth] === 0) {
        if (depth === 0) return pos === len ? SHAPE_OK : SHAPE_MALFORMED;
        depth--;
      }
      pending[depth] = pending[depth]! - 1;
      if (pos >= len) return SHAPE_MALFORMED;
      if (++values > this.maxValues) return SHAPE_TOO_MANY_VALUES;
      const b = bytes[pos++]!;
      let children = 0; // values inside a container that starts here
      let skip = 0; // payload bytes after the header
      let header = 0; // length-field bytes after the type byte
      if (b <= 0x7f || b >= 0xe0) {
        // positive / negative fixint
      } else if (b <= 0x8f) {
        children = (b & 0x0f) * 2;
      } else if (b <= 0x9f) {
        children = b & 0x0f;
      } else if (b <= 0xbf) {
        skip = b & 0x1f;
      } else {
        switch (b) {
          case 0xc0: case 0xc2: case 0xc3: break; // nil, false, true
          case 0xc1: return SHAPE_MALFORMED;
          case 0xc7: case 0xc8: case 0xc9: case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
            return SHAPE_EXT;
          case 0xcc: case 0xd0: skip = 1; break;
          case 0xcd: case 0xd1: skip = 2; break;
          case 0xca: case 0xce: case 0xd2: skip = 4; break;
          case 0xcb: case 0xcf: case 0xd3: skip = 8; break;
          case 0xc4: case 0xd9: header = 1; break; // bin8, str8
          case 0xc5: case 0xda: header = 2; break; // bin16, str16
          case 0xc6: case 0xdb: header = 4; break; // bin32, str32
          case 0xdc: case 0xde: header = 2; break; // array16, map16
          case 0xdd: case 0xdf: header = 4; break; // array32, map32
          default: return SHAPE_MALFORMED;
        }
        if (header > 0) {
          if (pos + header > len) return SHAPE_MALFORMED;
          const n = header === 1 ? bytes[pos]! : header === 2 ? readU16(bytes, pos) : readU32(bytes, pos);
          pos += header;
          if (b === 0xdc || b === 0xdd) children = n;
          else if (b === 0xde || b === 0xdf) children = n * 2;
          else skip = n;
        }
      }
      pos += skip;
      if (pos > len) return SHAPE_MALFORMED;
      if (children > 0) {
        if (depth === this.maxDepth) return SHAPE_TOO_DEEP;
        depth++;
        pending[depth] = children;
      }
    }
  }
}

function readU16(b: Uint8Array, p: number): number {
  return (b[p]! << 8) | b[p + 1]!;
}

function readU32(b: Uint8Array, p: number): number {
  return b[p]! * 0x1000000 + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
}

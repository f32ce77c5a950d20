// Joins the PCM16 blocks a decoder or resampler produced for one chunk into one array.

const EMPTY = new Int16Array(0);

/** The blocks in order as one array: no copy for zero or one block. */
export function concatSamples(parts: Int16Array[]): Int16Array {
  if (parts.length === 0) return EMPTY;
  if (parts.length === 1) return parts[0] as Int16Array;
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Int16Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

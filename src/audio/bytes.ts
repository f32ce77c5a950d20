// Byte-pattern helpers for the container demuxers.

/** First index of `pattern` in `v` at or after `from`, or -1. */
export function indexOfPattern(v: Uint8Array, pattern: readonly number[], from = 0): number {
  const first = pattern[0];
  if (first === undefined) return from;
  for (let i = v.indexOf(first, from); i >= 0 && i <= v.length - pattern.length; i = v.indexOf(first, i + 1)) {
    let k = 1;
    while (k < pattern.length && v[i + k] === pattern[k]) k++;
    if (k === pattern.length) return i;
  }
  return -1;
}

export function startsWith(v: Uint8Array, pattern: readonly number[]): boolean {
  if (v.length < pattern.length) return false;
  for (let i = 0; i < pattern.length; i++) if (v[i] !== pattern[i]) return false;
  return true;
}

// G.711 µ-law (8 bit, telephone audio) → PCM16, by the standard 256-entry expansion table.
const BIAS = 0x84;

/** MULAW_TO_PCM16[byte] = the linear sample of a µ-law byte (ITU-T G.711, range ±32124). */
export const MULAW_TO_PCM16: Int16Array = (() => {
  const t = new Int16Array(256);
  for (let b = 0; b < 256; b++) {
    const u = ~b & 0xff;
    const magnitude = (((u & 0x0f) << 3) + BIAS) << ((u & 0x70) >> 4);
    t[b] = u & 0x80 ? BIAS - magnitude : magnitude - BIAS;
  }
  return t;
})();

/** µ-law bytes → PCM16 samples (one sample per byte). */
export function mulawToInt16(chunk: Uint8Array): Int16Array {
  const out = new Int16Array(chunk.length);
  for (let i = 0; i < chunk.length; i++) out[i] = MULAW_TO_PCM16[chunk[i] as number] as number;
  return out;
}

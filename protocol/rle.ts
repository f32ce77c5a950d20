// COCO run-length encoding exactly as pycocotools (cocoapi common/maskApi.c): column-major runs that
// start with a zero run, the compressed string form (rleToString/rleFrString), area, bbox, shapes.

/** Uncompressed counts of a row-major 0/1 mask of h×w pixels (any non-zero byte counts as 1). */
export function encodeMask(mask: Uint8Array, h: number, w: number): number[] {
  checkSize(h, w);
  if (mask.length !== h * w) throw new RangeError(`mask has ${mask.length} pixels, expected ${h}×${w}`);
  const counts: number[] = [];
  let value = 0;
  let run = 0;
  for (let x = 0; x < w; x++) {
    for (let i = x; i < h * w; i += w) {
      const v = mask[i] === 0 ? 0 : 1;
      if (v !== value) {
        counts.push(run);
        run = 0;
        value = v;
      }
      run++;
    }
  }
  counts.push(run);
  return counts;
}

/** Row-major 0/1 mask from uncompressed counts; throws RangeError unless they cover h×w exactly. */
export function decodeCounts(counts: readonly number[], h: number, w: number): Uint8Array {
  checkSize(h, w);
  const total = h * w;
  const out = new Uint8Array(total);
  let pos = 0; // column-major index
  for (let k = 0; k < counts.length; k++) {
    const c = counts[k] as number;
    if (!Number.isSafeInteger(c) || c < 0) throw new RangeError(`count ${k} is not a non-negative integer`);
    if (pos + c > total) throw new RangeError(`counts cover more than ${h}×${w} pixels`);
    if (k % 2 === 1) {
      for (let j = pos; j < pos + c; j++) out[(j % h) * w + Math.floor(j / h)] = 1;
    }
    pos += c;
  }
  if (pos !== total) throw new RangeError(`counts cover ${pos} pixels, expected ${total}`);
  return out;
}

/** maskApi.c rleToString: 5 bits per char, 0x20 = more, 0x10 of the last group = sign, +48;
 *  counts[i] for i > 2 is sent as the delta from counts[i - 2]. */
export function countsToString(counts: readonly number[]): string {
  let s = '';
  for (let i = 0; i < counts.length; i++) {
    // Arithmetic on numbers, not bit operators: counts may exceed 2^31.
    let x = (counts[i] as number) - (i > 2 ? (counts[i - 2] as number) : 0);
    for (;;) {
      const c = ((x % 32) + 32) % 32; // x & 0x1f in two's complement
      x = Math.floor(x / 32); // arithmetic x >>= 5
      const more = (c & 0x10) !== 0 ? x !== -1 : x !== 0;
      s += String.fromCharCode((more ? c | 0x20 : c) + 48);
      if (!more) break;
    }
  }
  return s;
}

/** Largest groups per count: 7 × 5 bits covers any uint32 count or delta. */
const MAX_GROUPS = 7;

/** maskApi.c rleFrString. Throws RangeError for a char outside '0'..'o', a string that ends inside
 *  a count, or a count that decodes negative (pycocotools would wrap it to a huge uint). */
export function stringToCounts(s: string): number[] {
  const counts: number[] = [];
  let p = 0;
  while (p < s.length) {
    let x = 0;
    let k = 0;
    let more = true;
    while (more) {
      if (p >= s.length) throw new RangeError('RLE string ends inside a count');
      const code = s.charCodeAt(p) - 48;
      if (code < 0 || code > 63) throw new RangeError(`RLE string has a character outside '0'..'o' at ${p}`);
      if (k >= MAX_GROUPS) throw new RangeError('RLE count too long');
      x += (code & 0x1f) * 32 ** k;
      more = (code & 0x20) !== 0;
      p++;
      k++;
      if (!more && (code & 0x10) !== 0) x -= 32 ** k; // x |= -1 << 5k
    }
    const m = counts.length;
    if (m > 2) x += counts[m - 2] as number;
    if (x < 0) throw new RangeError(`RLE count ${m} is negative`);
    counts.push(x);
  }
  return counts;
}

/** Pixels set: the sum of the one-runs (odd indices). */
export function rleArea(counts: readonly number[]): number {
  let a = 0;
  for (let i = 1; i < counts.length; i += 2) a += counts[i] as number;
  return a;
}

/** [x, y, w, h] as pycocotools toBbox (maskApi.c rleToBbox, including its column-wrap rule). */
export function rleBbox(counts: readonly number[], h: number, w: number): [number, number, number, number] {
  const m = Math.floor(counts.length / 2) * 2;
  if (m === 0 || h === 0 || w === 0) return [0, 0, 0, 0];
  let xs = w;
  let ys = h;
  let xe = 0;
  let ye = 0;
  let cc = 0;
  let xp = 0;
  for (let j = 0; j < m; j++) {
    cc += counts[j] as number;
    const t = cc - (j % 2);
    const y = t % h;
    const x = (t - y) / h;
    if (j % 2 === 0) xp = x;
    else if (xp < x) {
      // A one-run spanning columns covers every row.
      ys = 0;
      ye = h - 1;
    }
    xs = Math.min(xs, x);
    xe = Math.max(xe, x);
    ys = Math.min(ys, y);
    ye = Math.max(ye, y);
  }
  return [xs, ys, xe - xs + 1, ye - ys + 1];
}

/**
 * Counts of a filled ellipse inscribed in, or a rectangle equal to, a pixel box [x0, y0, x1, y1]
 * (float pixel edges), clipped to the image. A pixel is in when its centre (x + 0.5, y + 0.5) is,
 * so the mask never leaves the box. Built column by column without a pixel buffer.
 */
export function shapeMaskCounts(
  box: readonly [number, number, number, number],
  h: number,
  w: number,
  shape: 'ellipse' | 'rect',
): number[] {
  checkSize(h, w);
  const [x0, y0, x1, y1] = box;
  const cx = (x0 + x1) / 2;
  const cy = (y0 + y1) / 2;
  const rx = (x1 - x0) / 2;
  const ry = (y1 - y0) / 2;
  const runs = new RunBuilder();
  for (let x = 0; x < w; x++) {
    let ya = 0;
    let yb = 0; // ones are rows [ya, yb)
    const px = x + 0.5;
    if (rx > 0 && ry > 0 && px >= x0 && px <= x1) {
      let top = y0;
      let bottom = y1;
      if (shape === 'ellipse') {
        const d = (px - cx) / rx;
        const half = ry * Math.sqrt(Math.max(0, 1 - d * d));
        top = cy - half;
        bottom = cy + half;
      }
      // Rows whose centre y + 0.5 lies in [top, bottom].
      ya = Math.max(0, Math.ceil(top - 0.5));
      yb = Math.min(h, Math.floor(bottom - 0.5) + 1);
      if (yb < ya) yb = ya;
    }
    runs.add(0, ya);
    runs.add(1, yb - ya);
    runs.add(0, h - yb);
  }
  return runs.finish();
}

class RunBuilder {
  private readonly counts: number[] = [];
  private value = 0;
  private run = 0;

  add(value: 0 | 1, n: number): void {
    if (n <= 0) return;
    if (value !== this.value) {
      this.counts.push(this.run);
      this.run = 0;
      this.value = value;
    }
    this.run += n;
  }

  finish(): number[] {
    this.counts.push(this.run);
    return this.counts;
  }
}

function checkSize(h: number, w: number): void {
  if (!Number.isSafeInteger(h) || !Number.isSafeInteger(w) || h < 0 || w < 0) {
    throw new RangeError(`bad mask size ${h}×${w}`);
  }
}

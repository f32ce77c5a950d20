// COCO RLE against pycocotools-verified vectors (backend-protocols §7.4) and round-trip properties.
import { describe, expect, it } from 'vitest';
import { countsToString, decodeCounts, encodeMask, rleArea, rleBbox, shapeMaskCounts, stringToCounts } from './rle.ts';

function rows(m: number[][]): Uint8Array {
  return Uint8Array.from(m.flat());
}

/** mulberry32, so the random masks are the same on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Reference bbox straight from the pixels (column/row extent of the ones). */
function pixelBbox(mask: Uint8Array, h: number, w: number): [number, number, number, number] {
  let xs = w, ys = h, xe = -1, ye = -1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (mask[y * w + x] === 1) {
        xs = Math.min(xs, x); xe = Math.max(xe, x); ys = Math.min(ys, y); ye = Math.max(ye, y);
      }
    }
  }
  return xe < 0 ? [0, 0, 0, 0] : [xs, ys, xe - xs + 1, ye - ys + 1];
}

describe('verified vectors', () => {
  it('3×4 mask → [2,6,4] → "264", area 6, bbox [0,0,3,3]', () => {
    const m = rows([[0, 1, 1, 0], [0, 1, 1, 0], [1, 1, 0, 0]]);
    const counts = encodeMask(m, 3, 4);
    expect(counts).toEqual([2, 6, 4]);
    expect(countsToString(counts)).toBe('264');
    expect(stringToCounts('264')).toEqual([2, 6, 4]);
    expect(rleArea(counts)).toBe(6);
    expect(rleBbox(counts, 3, 4)).toEqual([0, 0, 3, 3]);
    expect(decodeCounts(counts, 3, 4)).toEqual(m);
  });

  it('2×2 ones → [0,4] → "04"', () => {
    const counts = encodeMask(new Uint8Array([1, 1, 1, 1]), 2, 2);
    expect(counts).toEqual([0, 4]);
    expect(countsToString(counts)).toBe('04');
    expect(stringToCounts('04')).toEqual([0, 4]);
  });

  it('10×20 with rows 2–4, cols 3–6 → "P13700000P4", area 12, bbox [3,2,4,3]', () => {
    const m = new Uint8Array(200);
    for (let y = 2; y <= 4; y++) for (let x = 3; x <= 6; x++) m[y * 20 + x] = 1;
    const counts = encodeMask(m, 10, 20);
    expect(counts).toEqual([32, 3, 7, 3, 7, 3, 7, 3, 135]);
    expect(countsToString(counts)).toBe('P13700000P4');
    expect(stringToCounts('P13700000P4')).toEqual(counts);
    expect(rleArea(counts)).toBe(12);
    expect(rleBbox(counts, 10, 20)).toEqual([3, 2, 4, 3]);
  });

  it('counts [5,100,3] → "5T33"', () => {
    expect(countsToString([5, 100, 3])).toBe('5T33');
    expect(stringToCounts('5T33')).toEqual([5, 100, 3]);
  });
});

describe('edge cases', () => {
  it('a mask starting with 1 begins with a zero count', () => {
    const m = rows([[1, 0], [0, 0]]);
    expect(encodeMask(m, 2, 2)).toEqual([0, 1, 3]);
    expect(decodeCounts([0, 1, 3], 2, 2)).toEqual(m);
  });

  it('all zeros is one run, area 0, bbox zeros', () => {
    const counts = encodeMask(new Uint8Array(12), 3, 4);
    expect(counts).toEqual([12]);
    expect(countsToString(counts)).toBe(countsToString([12]));
    expect(rleArea(counts)).toBe(0);
    expect(rleBbox(counts, 3, 4)).toEqual([0, 0, 0, 0]);
    expect(decodeCounts(counts, 3, 4)).toEqual(new Uint8Array(12));
  });

  it('counts above 2^16 and 2^31 round-trip, including negative deltas', () => {
    const counts = [70_000, 3, 1, 2 ** 31 + 5, 65_537, 0, 2 ** 32 - 1];
    expect(stringToCounts(countsToString(counts))).toEqual(counts);
    const big = [1 << 17, 1 << 16, 1 << 18];
    expect(stringToCounts(countsToString(big))).toEqual(big);
  });

  it('a large image (1024×1024) with one box round-trips', () => {
    const h = 1024, w = 1024;
    const m = new Uint8Array(h * w);
    for (let y = 100; y < 900; y++) for (let x = 200; x < 300; x++) m[y * w + x] = 1;
    const counts = encodeMask(m, h, w);
    expect(counts[0]).toBe(200 * 1024 + 100);
    expect(decodeCounts(stringToCounts(countsToString(counts)), h, w)).toEqual(m);
    expect(rleBbox(counts, h, w)).toEqual([200, 100, 100, 800]);
  });

  it('rejects bad strings and counts that do not cover the image', () => {
    expect(() => stringToCounts('5p')).toThrow(RangeError); // 'p' is above 'o'
    expect(() => stringToCounts('/')).toThrow(RangeError);
    expect(() => stringToCounts('T')).toThrow(RangeError); // ends inside a count
    expect(() => stringToCounts('5O')).toThrow(RangeError); // second count -1
    expect(() => decodeCounts([2, 6, 3], 3, 4)).toThrow(RangeError);
    expect(() => decodeCounts([2, 6, 5], 3, 4)).toThrow(RangeError);
    expect(() => encodeMask(new Uint8Array(3), 2, 2)).toThrow(RangeError);
  });

  it("uses only '0'..'o' (backslash included)", () => {
    expect(countsToString([44])).toBe('\\1');
    expect(stringToCounts('\\1')).toEqual([44]);
  });
});

describe('random masks (seeded)', () => {
  it('300 masks round-trip through counts and strings; area and bbox match the pixels', () => {
    const rand = prng(12345);
    for (let n = 0; n < 300; n++) {
      const h = 1 + Math.floor(rand() * 40);
      const w = 1 + Math.floor(rand() * 40);
      const density = rand();
      const blocky = rand() < 0.5;
      const m = new Uint8Array(h * w);
      for (let i = 0; i < m.length; i++) {
        m[i] = blocky && i > 0 && rand() < 0.8 ? (m[i - 1] as number) : rand() < density ? 1 : 0;
      }
      const counts = encodeMask(m, h, w);
      expect(counts.reduce((a, b) => a + b, 0)).toBe(h * w);
      for (let i = 1; i < counts.length; i++) expect(counts[i]).toBeGreaterThan(0);
      const s = countsToString(counts);
      expect(s).toMatch(/^[0-o]*$/);
      expect(stringToCounts(s)).toEqual(counts);
      expect(decodeCounts(counts, h, w)).toEqual(m);
      expect(rleArea(counts)).toBe(m.reduce((a, b) => a + b, 0));
      expect(rleBbox(counts, h, w)).toEqual(pixelBbox(m, h, w));
    }
  });
});

describe('shapeMaskCounts', () => {
  it('rect matches a pixel-filled rectangle', () => {
    const counts = shapeMaskCounts([3, 2, 7, 5], 10, 20, 'rect');
    expect(counts).toEqual([32, 3, 7, 3, 7, 3, 7, 3, 135]);
  });

  it('ellipse stays inside its box, is symmetric and fills about π/4 of it', () => {
    const h = 120, w = 160;
    const box: [number, number, number, number] = [20.5, 10, 140, 100.25];
    const counts = shapeMaskCounts(box, h, w, 'ellipse');
    const m = decodeCounts(counts, h, w);
    const [bx, by, bw, bh] = rleBbox(counts, h, w);
    expect(bx).toBeGreaterThanOrEqual(Math.floor(box[0]));
    expect(by).toBeGreaterThanOrEqual(Math.floor(box[1]));
    expect(bx + bw).toBeLessThanOrEqual(Math.ceil(box[2]));
    expect(by + bh).toBeLessThanOrEqual(Math.ceil(box[3]));
    const ratio = rleArea(counts) / ((box[2] - box[0]) * (box[3] - box[1]));
    expect(ratio).toBeGreaterThan(0.74);
    expect(ratio).toBeLessThan(0.83);
    expect(m[55 * w + 80]).toBe(1); // centre
  });

  it('clips to the image and handles empty boxes', () => {
    const counts = shapeMaskCounts([-50, -50, 10, 10], 8, 8, 'rect');
    expect(rleBbox(counts, 8, 8)).toEqual([0, 0, 8, 8]);
    expect(shapeMaskCounts([3, 3, 3, 9], 8, 8, 'ellipse')).toEqual([64]);
  });
});

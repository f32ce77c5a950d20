// The simulator's own RLE encoder must agree with protocol/rle.ts (the sim cannot import src/).
import { describe, expect, it } from 'vitest';
import { ellipseCounts, rleString } from '../../../sim/grounded-sam/rle.ts';
import { countsToString, decodeCounts, rleArea, shapeMaskCounts, stringToCounts } from '../../../protocol/rle.ts';

describe('sim RLE', () => {
  it('sim ellipses decode with protocol/rle.ts and equal shapeMaskCounts ellipses', () => {
    const cases: [[number, number, number, number], number, number][] = [
      [[10, 5, 50, 40], 48, 64],
      [[0, 0, 64, 48], 48, 64],
      [[3.25, 7.5, 9.75, 30.1], 48, 64],
      [[100.5, 20, 300, 190.75], 200, 320],
      [[5, 5, 5.4, 20], 30, 30],
    ];
    for (const [box, h, w] of cases) {
      const counts = ellipseCounts(box, h, w);
      expect(counts).toEqual(shapeMaskCounts(box, h, w, 'ellipse'));
      const s = rleString(counts);
      expect(s).toBe(countsToString(counts));
      expect(stringToCounts(s)).toEqual(counts);
      expect(decodeCounts(counts, h, w).length).toBe(h * w);
      expect(rleArea(counts)).toBeLessThanOrEqual((box[2] - box[0] + 1) * (box[3] - box[1] + 1));
    }
  });

  it('sim strings match the verified vectors', () => {
    expect(rleString([2, 6, 4])).toBe('264');
    expect(rleString([32, 3, 7, 3, 7, 3, 7, 3, 135])).toBe('P13700000P4');
    expect(rleString([5, 100, 3])).toBe('5T33');
  });
});

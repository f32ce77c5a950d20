// Tests for ryu-style float formatting.
import { describe, expect, it } from 'vitest';
import { formatF32, formatRyu } from './numfmt.ts';

describe('formatRyu', () => {
  it.each([
    [1, '1.0'],
    [1.5, '1.5'],
    [-0.12, '-0.12'],
    [0.001234, '0.001234'],
    [1e-7, '1e-7'],
    [1.5e-7, '1.5e-7'],
    [123456789012, '123456789012.0'],
    [1e16, '1e16'],
    [18446744073709552000, '1.8446744073709552e19'],
    [-0, '-0.0'],
    [0, '0.0'],
  ])('%s -> %s', (x, s) => {
    expect(formatRyu(x)).toBe(s);
  });

  it('formats f32 like ryu', () => {
    expect(formatF32(-0.0123)).toBe('-0.0123');
    expect(formatF32(-2)).toBe('-2.0');
  });
});

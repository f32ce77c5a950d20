// API keys: found by position, compared as digests, and not kept as text.
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ApiKeySet } from './api-keys.ts';

describe('ApiKeySet', () => {
  const keys = ['key-one-0123456789', 'key-two-0123456789'];

  it('finds each key by its position and nothing else', () => {
    const set = new ApiKeySet(keys);
    expect(set.size).toBe(2);
    expect(set.indexOf('key-one-0123456789')).toBe(0);
    expect(set.indexOf('key-two-0123456789')).toBe(1);
    expect(set.indexOf('key-one-012345678')).toBe(-1);
    expect(set.indexOf('key-one-01234567890')).toBe(-1);
    expect(set.indexOf('')).toBe(-1);
    expect(new ApiKeySet([]).indexOf('key-one-0123456789')).toBe(-1);
  });

  it('holds no key as text', () => {
    const shown = inspect(new ApiKeySet(keys), { depth: 5, showHidden: true });
    for (const k of keys) {
      expect(shown).not.toContain(k);
      expect(shown).not.toContain(Buffer.from(k).toString('hex'));
    }
  });
});

// ImageStore: put/get/delete/clear, replacement, oldest-first eviction by count and by bytes,
// refusal of an image larger than the store, private copies of borrowed views.
import { describe, expect, it } from 'vitest';
import { VlpError } from '../../protocol/errors.ts';
import { ImageStore } from './store.ts';
import type { StoredImage } from './types.ts';

const img = (n: number): StoredImage => ({ bytes: new Uint8Array(n), mime: 'image/jpeg', width: 4, height: 3 });

describe('ImageStore', () => {
  it('puts, gets, deletes and counts', () => {
    const s = new ImageStore();
    expect(s.size).toBe(0);
    expect(s.bytes).toBe(0);
    expect(s.put('a', img(10))).toEqual([]);
    s.put('b', img(20));
    expect(s.get('a')?.bytes.byteLength).toBe(10);
    expect(s.has('b')).toBe(true);
    expect([s.size, s.bytes]).toEqual([2, 30]);
    expect(s.delete('a')).toBe(true);
    expect(s.delete('a')).toBe(false);
    expect(s.get('a')).toBeUndefined();
    expect([s.size, s.bytes]).toEqual([1, 20]);
    s.clear();
    expect([s.size, s.bytes]).toEqual([0, 0]);
  });

  it('replaces an image with the same id and renews its age', () => {
    const s = new ImageStore({ maxImages: 2 });
    s.put('a', img(10));
    s.put('b', img(10));
    s.put('a', img(5));
    expect([s.size, s.bytes]).toEqual([2, 15]);
    expect(s.put('c', img(1))).toEqual(['b']); // "a" was put again after "b"
  });

  it('evicts the oldest images past the count bound', () => {
    const s = new ImageStore({ maxImages: 3, maxBytes: 1000 });
    for (const id of ['a', 'b', 'c']) s.put(id, img(1));
    expect(s.put('d', img(1))).toEqual(['a']);
    expect(s.size).toBe(3);
    expect(s.get('a')).toBeUndefined();
  });

  it('evicts the oldest images past the byte bound, as many as needed', () => {
    const s = new ImageStore({ maxImages: 8, maxBytes: 100 });
    s.put('a', img(40));
    s.put('b', img(40));
    s.put('c', img(10));
    expect(s.put('d', img(60))).toEqual(['a', 'b']); // 10 + 60 fits: "c" stays
    expect([s.size, s.bytes]).toEqual([2, 70]);
    expect(s.put('e', img(95))).toEqual(['c', 'd']);
    expect([s.size, s.bytes]).toEqual([1, 95]);
  });

  it('refuses an image larger than the whole store', () => {
    const s = new ImageStore({ maxBytes: 100 });
    s.put('a', img(50));
    expect(() => s.put('b', img(101))).toThrow(VlpError);
    expect(s.size).toBe(1); // nothing evicted for a refused image
  });

  it('copies a view into a larger buffer, keeps an owned buffer as is', () => {
    const s = new ImageStore();
    const frame = new Uint8Array(1000).fill(7);
    s.put('view', { ...img(0), bytes: frame.subarray(100, 200) });
    const kept = s.get('view')?.bytes;
    expect(kept?.byteLength).toBe(100);
    expect(kept?.buffer.byteLength).toBe(100);
    frame.fill(0);
    expect(kept?.[0]).toBe(7);
    const own = new Uint8Array(10);
    s.put('own', { ...img(0), bytes: own });
    expect(s.get('own')?.bytes).toBe(own);
  });

  it('returns to its empty state when the last image goes', () => {
    const s = new ImageStore({ maxImages: 1 });
    s.put('a', img(3));
    s.delete('a');
    expect([s.size, s.bytes, s.get('a')]).toEqual([0, 0, undefined]);
    expect(s.put('b', img(2))).toEqual([]);
    expect(s.put('c', img(2))).toEqual(['b']);
  });

  it('rejects nonsensical limits', () => {
    expect(() => new ImageStore({ maxImages: 0 })).toThrow(RangeError);
  });
});

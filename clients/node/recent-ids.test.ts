// The client's memory of turn ids is bounded like the server's (the last 256).
import { describe, expect, it } from 'vitest';
import { RecentIds } from './recent-ids.ts';

describe('RecentIds', () => {
  it('keeps the most recent ids up to its bound and forgets the oldest', () => {
    const ids = new RecentIds(3);
    for (const id of ['a', 'b', 'c']) ids.add(id);
    expect(['a', 'b', 'c'].map((i) => ids.has(i))).toEqual([true, true, true]);
    ids.add('b'); // already held: nothing moves
    ids.add('d');
    expect(ids.has('a')).toBe(false);
    expect(['b', 'c', 'd'].map((i) => ids.has(i))).toEqual([true, true, true]);
    expect(ids.size).toBe(3);
  });

  it('holds 256 by default however many turns a connection runs', () => {
    const ids = new RecentIds();
    for (let i = 0; i < 100_000; i++) ids.add(`t${i}`);
    expect(ids.size).toBe(256);
    expect(ids.has('t99999')).toBe(true);
    expect(ids.has('t99743')).toBe(false);
    expect(ids.has('t99744')).toBe(true);
  });
});

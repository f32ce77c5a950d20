// BufferedStream: a speculative upstream stream is buffered until committed, then replayed and
// continued live; only what the reader has not taken yet counts against its bound.
import { describe, expect, it } from 'vitest';
import { BufferedStream, MAX_BUFFERED_EVENTS } from './speculation.ts';

async function* numbers(n: number, gate?: Promise<void>): AsyncGenerator<number> {
  for (let i = 0; i < n; i++) {
    if (gate !== undefined && i === 10) await gate;
    yield i;
  }
}

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

describe('BufferedStream', () => {
  it('a committed stream longer than the bound is replayed whole: events the reader took are released', async () => {
    const total = MAX_BUFFERED_EVENTS + 4097;
    const s = new BufferedStream<number>(() => numbers(total));
    let got = 0;
    let maxHeld = 0;
    for await (const v of s.replay(new AbortController().signal)) {
      expect(v).toBe(got);
      got++;
      maxHeld = Math.max(maxHeld, s.held);
    }
    // Before, the stream failed with "speculation buffer full" at event 4096.
    expect(got).toBe(total);
    expect(s.failed).toBe(false);
    expect(maxHeld).toBeLessThan(MAX_BUFFERED_EVENTS);
  });

  it('an answer of 4096 tokens and its done event fits before the commit', async () => {
    const s = new BufferedStream<number>(() => numbers(4097));
    while (!s.done) await settle();
    expect(s.failed).toBe(false);
    expect(s.held).toBe(4097);
    let got = 0;
    for await (const _ of s.replay(new AbortController().signal)) got++;
    expect(got).toBe(4097);
    expect(s.held).toBe(0);
  });

  it('an uncommitted speculation that outgrows the bound fails (and is discarded by its owner)', async () => {
    const s = new BufferedStream<number>(() => numbers(MAX_BUFFERED_EVENTS + 10));
    while (!s.done) await settle();
    expect(s.failed).toBe(true);
    expect(s.held).toBe(MAX_BUFFERED_EVENTS);
  });
});

// Latency mode (busyPollMs) through the real gateway: a turn streams as usual, the event loop
// spins while its frames flow, and stops spinning once the traffic has been quiet for busyPollMs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GenDoneMsg } from '../protocol/messages.ts';
import { RawClient, startStack, TRANSPORTS, type Stack } from './harness.ts';

describe.each(TRANSPORTS)('busy poll over %s', (transport) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack(transport, { config: { busyPollMs: 50 }, sim: { ttftMs: 20, itlMs: 10 } });
  });
  afterAll(async () => {
    await stack.close();
  });

  it('spins while a turn streams and sleeps again 50 ms after the last frame', async () => {
    const c = await RawClient.session(stack.url);
    c.send({ t: 'turn.start', id: 't1', text: 'Tell me about Paris.', params: { max_new_tokens: 30 } });
    await c.waitFor((m) => m.t === 'gen.token');
    expect(stack.gw.ctx.busyPoll.isSpinning).toBe(true);
    const done = await c.waitFor<GenDoneMsg>((m) => m.t === 'gen.done');
    expect(done.tokens).toBe(30);
    const streamed = c.frames.map((f) => (f.t === 'gen.token' ? f.text : '')).join('');
    expect(streamed.trim()).toBe(done.text.trim());
    expect(streamed.length).toBeGreaterThan(0);
    await expect.poll(() => stack.gw.ctx.busyPoll.isSpinning, { timeout: 2000 }).toBe(false);
    c.close();
  });
});

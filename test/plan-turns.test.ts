// Chain-of-thought planning (options.plan) end to end: the dialogue model (LangChain over the
// generation port) plans first, the steps stream as plan.step frames, then the answer streams with
// the plan appended to the question. Off by default.
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlanStepMsg } from '../protocol/messages.ts';
import { RawClient, startStack, type Stack } from './harness.ts';

describe('planning turns', () => {
  let stack: Stack;
  let photo: Uint8Array;
  beforeAll(async () => {
    stack = await startStack('ws');
    photo = new Uint8Array(await sharp({ create: { width: 320, height: 240, channels: 3, background: 'blue' } }).png().toBuffer());
  });
  afterAll(async () => {
    await stack.close();
  });

  it('plan on: plan.step frames after turn.started, then the VLM answer of a longer prompt', async () => {
    const llm: number[] = [];
    const vlm: number[] = [];
    const onLlm = (e: { inputsLength: number }): void => void llm.push(e.inputsLength);
    const onVlm = (e: { inputsLength: number }): void => void vlm.push(e.inputsLength);
    stack.sim.events.on('request', onLlm);
    stack.vlm.events.on('request', onVlm);
    try {
      const c = await RawClient.session(stack.url, 'vlp.v1.msgpack', { options: { plan: true } });
      c.send({ t: 'image.put', id: 'p', data: photo });
      c.send({ t: 'turn.start', id: 't1', text: 'Describe the cat in this picture in detail', image: 'p', params: { max_new_tokens: 10 } });
      await c.waitFor((m) => m.t === 'gen.done' && m.turn === 't1', 10_000);
      const steps = c.frames.filter((f): f is PlanStepMsg => f.t === 'plan.step');
      expect(steps.length).toBeGreaterThanOrEqual(3);
      expect(steps.map((s) => s.index)).toEqual(steps.map((_, i) => i));
      for (const s of steps) expect(s).toMatchObject({ turn: 't1' });
      const order = c.frames.map((f) => f.t);
      expect(order.indexOf('turn.started')).toBeLessThan(order.indexOf('plan.step'));
      expect(order.lastIndexOf('plan.step')).toBeLessThan(order.indexOf('gen.token'));
      // One planning request to the dialogue model, then the VLM request.
      expect(llm.length).toBe(1);
      expect(vlm.length).toBe(1);
      c.close();
    } finally {
      stack.sim.events.off('request', onLlm);
      stack.vlm.events.off('request', onVlm);
    }
  });

  it('plan off (the default): no planning request, no plan.step', async () => {
    let llm = 0;
    const onLlm = (): void => void llm++;
    stack.sim.events.on('request', onLlm);
    try {
      const c = await RawClient.session(stack.url);
      c.send({ t: 'image.put', id: 'p', data: photo });
      c.send({ t: 'turn.start', id: 't1', text: 'Describe the cat in this picture in detail', image: 'p', params: { max_new_tokens: 5 } });
      await c.waitFor((m) => m.t === 'gen.done' && m.turn === 't1', 10_000);
      expect(c.frames.some((f) => f.t === 'plan.step')).toBe(false);
      expect(llm).toBe(0);
      c.close();
    } finally {
      stack.sim.events.off('request', onLlm);
    }
  });

  it('cancelling during planning closes the planning request and ends the turn', async () => {
    const slow = await startStack('ws', { sim: { ttftMs: 20, itlMs: 60 } });
    try {
      let closed: boolean | undefined;
      slow.sim.events.on('request-closed', (e: { completed: boolean }) => (closed = e.completed));
      const c = await RawClient.session(slow.url, 'vlp.v1.msgpack', { options: { plan: true } });
      c.send({ t: 'turn.start', id: 't1', text: 'Explain the history of Rome in detail' });
      await c.waitFor((m) => m.t === 'turn.started');
      await new Promise((r) => setTimeout(r, 100));
      c.send({ t: 'turn.cancel', id: 't1' });
      await c.waitFor((m) => m.t === 'turn.cancelled' && m.turn === 't1');
      await expect.poll(() => closed, { timeout: 1000 }).toBe(false);
      expect(c.frames.some((f) => f.t === 'gen.token')).toBe(false);
      c.close();
    } finally {
      await slow.close();
    }
  });
});

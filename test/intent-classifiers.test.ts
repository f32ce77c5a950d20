// The served intent classifiers in the gateway: a zero-shot endpoint (the seed's mDeBERTa pipeline,
// simulated) and the dialogue LLM with a JSON grammar decide typed turns; a failing one falls back
// to the built-in rules and the turn goes on.
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IntentUpdateMsg } from '../protocol/messages.ts';
import { startZeroShotSim, type ZeroShotSim } from '../sim/zero-shot/index.ts';
import type { RequestEvent } from '../sim/tgi/types.ts';
import { RawClient, startStack, type Stack } from './harness.ts';

let photo: Uint8Array;
beforeAll(async () => {
  photo = new Uint8Array(await sharp({ create: { width: 320, height: 240, channels: 3, background: 'green' } }).png().toBuffer());
});

describe('zero-shot classifier', () => {
  let zs: ZeroShotSim;
  let stack: Stack;
  let requests = 0;
  beforeAll(async () => {
    zs = await startZeroShotSim({});
    zs.events.on('request', () => void requests++);
    stack = await startStack('ws', { config: { intent: { classifier: 'zero-shot', url: zs.url } } });
  });
  afterAll(async () => {
    await stack.close();
    await zs.close();
  });

  it('decides the turn: "segment the dog" with an image becomes a segment turn', async () => {
    const before = requests;
    const c = await RawClient.session(stack.url);
    c.send({ t: 'image.put', id: 'p', data: photo });
    c.send({ t: 'turn.start', id: 't1', text: 'segment the dog', image: 'p' });
    const intent = await c.waitFor<IntentUpdateMsg>((m) => m.t === 'intent.update' && m.turn === 't1');
    expect(intent.labels[0]?.label).toBe('segment');
    await c.waitFor((m) => m.t === 'mask.frame', 5000);
    expect(requests).toBe(before + 1);
    c.close();
  });

  it('a failing endpoint (503 loading) falls back to the rules: the turn still runs', async () => {
    zs.injectFault('loading_503', 1);
    const c = await RawClient.session(stack.url);
    c.send({ t: 'turn.start', id: 't1', text: 'What is the capital of France?', params: { max_new_tokens: 4 } });
    await c.waitFor((m) => m.t === 'gen.done' && m.turn === 't1', 5000);
    expect(c.frames.some((f) => f.t === 'error')).toBe(false);
    const metrics = await fetch(`${stack.httpBase}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/vlp_errors_total\{code="INTENT_FALLBACK"\} [1-9]/);
    c.close();
  });
});

describe('LLM classifier (TGI grammar)', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('ws', { config: { intent: { classifier: 'llm' } } });
  });
  afterAll(async () => {
    await stack.close();
  });

  it('asks the dialogue model with a JSON grammar and routes on its answer', async () => {
    const grammars: unknown[] = [];
    const onReq = (e: RequestEvent): void => void grammars.push((e.params as { grammar?: unknown }).grammar);
    stack.sim.events.on('request', onReq);
    try {
      const c = await RawClient.session(stack.url);
      c.send({ t: 'image.put', id: 'p', data: photo });
      c.send({ t: 'turn.start', id: 't1', text: 'segment the dog', image: 'p' });
      const intent = await c.waitFor<IntentUpdateMsg>((m) => m.t === 'intent.update' && m.turn === 't1', 5000);
      expect(intent.labels[0]?.label).toBe('segment');
      await c.waitFor((m) => m.t === 'turn.metrics' && m.turn === 't1', 5000);
      expect(grammars[0]).toMatchObject({ type: 'json' });
      c.close();
    } finally {
      stack.sim.events.off('request', onReq);
    }
  });
});

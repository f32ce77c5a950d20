// Integration: real gateway on each transport, real simulated TGI, real ws clients on loopback.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient, startStack, TRANSPORTS, type Stack } from './harness.ts';
import type { GenDoneMsg, GenTokenMsg, ReadyMsg, ServerMessage } from '../protocol/messages.ts';
import type { RequestClosedEvent, RequestEvent } from '../sim/tgi/index.ts';

describe.each(TRANSPORTS)('text turns over %s', (transport) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack(transport);
  });
  afterAll(async () => {
    await stack.close();
  });

  it('hello → ready with session id, resume token, models and limits', async () => {
    const c = await RawClient.session(stack.url);
    const ready = c.frames[0] as ReadyMsg;
    expect(ready).toMatchObject({ t: 'ready', seq: 1, resumed: false, protocol: 1 });
    expect(ready.session_id).toMatch(/^s_/);
    expect(ready.resume_token.length).toBeGreaterThan(20);
    expect(ready.models.map((m) => m.id)).toEqual(['llama-2-7b-chat', 'idefics-9b-instruct']);
    expect(ready.limits.max_frame_bytes).toBe(8 << 20);
    c.send({ t: 'ping', ts: 42 });
    expect(await c.waitFor((m) => m.t === 'pong')).toMatchObject({ ts: 42, seq: 2 });
    c.close();
  });

  it('streams a Llama-2 turn as gen.token frames, then gen.done and turn.metrics, with consecutive seqs', async () => {
    const c = await RawClient.session(stack.url);
    c.send({ t: 'turn.start', id: 't1', text: 'What is the capital of France?', params: { seed: 7, max_new_tokens: 30 } });
    const done = await c.waitFor<GenDoneMsg>((m) => m.t === 'gen.done');
    await c.waitFor((m) => m.t === 'turn.metrics');
    const turn = c.framesOf('t1');
    expect(turn[0]).toMatchObject({ t: 'turn.started', kind: 'chat', model: 'llama-2-7b-chat' });
    const tokens = turn.filter((f): f is GenTokenMsg => f.t === 'gen.token');
    expect(tokens.length).toBeGreaterThan(1);
    // Token indexes are contiguous even when frames coalesce.
    let next = 0;
    for (const tk of tokens) {
      expect(tk.i).toBe(next);
      next += tk.n;
    }
    expect(done.finish === 'eos_token' || done.finish === 'length').toBe(true);
    expect(done.tokens).toBeGreaterThanOrEqual(next);
    expect(done.ttft_ms).toBeGreaterThan(0);
    expect(done.total_ms).toBeGreaterThanOrEqual(done.ttft_ms);
    expect(done.text).toBe(tokens.map((t) => t.text).join('').trim());
    const seqs = c.frames.map((f) => f.seq);
    expect(seqs).toEqual(seqs.map((_, k) => k + 1));
    c.close();
  });

  it('is deterministic for a seed and honours max_new_tokens (finish=length)', async () => {
    const a = await RawClient.session(stack.url);
    const b = await RawClient.session(stack.url);
    a.send({ t: 'turn.start', id: 'x', text: 'Tell me about dogs', params: { seed: 99, max_new_tokens: 5 } });
    b.send({ t: 'turn.start', id: 'x', text: 'Tell me about dogs', params: { seed: 99, max_new_tokens: 5 } });
    const da = await a.waitFor<GenDoneMsg>((m) => m.t === 'gen.done');
    const db = await b.waitFor<GenDoneMsg>((m) => m.t === 'gen.done');
    expect(da.text).toBe(db.text);
    expect(da.finish).toBe('length');
    expect(da.tokens).toBe(5);
    a.close();
    b.close();
  });

  it('passes generation parameters through to TGI with details forced on', async () => {
    const seen: RequestEvent[] = [];
    const on = (e: RequestEvent) => seen.push(e);
    stack.sim.events.on('request', on);
    const c = await RawClient.session(stack.url);
    c.send({
      t: 'turn.start',
      id: 'p',
      text: 'hi',
      params: { max_new_tokens: 8, temperature: 0.7, top_k: 20, top_p: 0.9, typical_p: 0.95, repetition_penalty: 1.1, stop: ['\nUser:'], seed: 5, do_sample: true, truncate: 1000, watermark: true, best_of: 1 },
    });
    await c.waitFor((m) => m.t === 'gen.done');
    stack.sim.events.off('request', on);
    const p = seen.at(-1)?.params;
    expect(p).toMatchObject({ max_new_tokens: 8, temperature: 0.7, top_k: 20, top_p: 0.9, typical_p: 0.95, repetition_penalty: 1.1, do_sample: true, truncate: 1000, watermark: true, details: true });
    expect(Number(p?.seed)).toBe(5);
    expect(p?.stop).toContain('\nUser:');
    c.close();
  });

  it('keeps multi-turn history per session (the second prompt carries the first exchange)', async () => {
    const seen: RequestEvent[] = [];
    const on = (e: RequestEvent) => seen.push(e);
    stack.sim.events.on('request', on);
    const c = await RawClient.session(stack.url);
    c.send({ t: 'turn.start', id: 'h1', text: 'My name is Ada.', params: { seed: 1, max_new_tokens: 10 } });
    const d1 = await c.waitFor<GenDoneMsg>((m) => m.t === 'gen.done');
    c.send({ t: 'turn.start', id: 'h2', text: 'What is my name?', params: { seed: 2, max_new_tokens: 10 } });
    await c.waitFor((m) => m.t === 'gen.done' && m.turn === 'h2');
    stack.sim.events.off('request', on);
    const [first, second] = seen.slice(-2);
    expect(second!.inputsLength).toBeGreaterThan(first!.inputsLength + d1.text.length);
    c.close();
  });

  it('turn.cancel closes the upstream request within 50 ms and answers turn.cancelled', async () => {
    const slow = await startStack(transport, { sim: { ttftMs: 10, itlMs: 50, jitter: 0 } });
    try {
      const c = await RawClient.session(slow.url);
      let closed: RequestClosedEvent | undefined;
      slow.sim.events.on('request-closed', (e) => (closed = e));
      c.send({ t: 'turn.start', id: 'c1', text: 'Write a long story', params: { max_new_tokens: 500 } });
      await c.waitFor((m) => m.t === 'gen.token');
      const sentAt = performance.now();
      c.send({ t: 'turn.cancel', id: 'c1' });
      const cancelled = await c.waitFor((m) => m.t === 'turn.cancelled');
      expect(cancelled).toMatchObject({ turn: 'c1', reason: 'client' });
      for (let k = 0; k < 50 && !closed; k++) await new Promise((r) => setTimeout(r, 2));
      expect(closed).toBeDefined();
      expect(closed!.completed).toBe(false);
      expect(closed!.atMs - sentAt).toBeLessThan(50);
      // No gen.done for a cancelled turn; the session takes the next turn.
      expect(c.framesOf('c1').some((f) => f.t === 'gen.done')).toBe(false);
      c.send({ t: 'turn.start', id: 'c2', text: 'hello', params: { max_new_tokens: 3 } });
      await c.waitFor((m) => m.t === 'gen.done' && m.turn === 'c2');
      c.close();
    } finally {
      await slow.close();
    }
  });

  it('serves the JSON mirror subprotocol', async () => {
    const c = await RawClient.session(stack.url, 'vlp.v1.json');
    expect(c.ws.protocol).toBe('vlp.v1.json');
    c.send({ t: 'turn.start', id: 'j', text: 'hello', params: { max_new_tokens: 4 } });
    const done = await c.waitFor<GenDoneMsg>((m) => m.t === 'gen.done');
    expect(done.tokens).toBe(4);
    c.close();
  });

  it('runs 50 concurrent sessions without cross-talk', async () => {
    const clients = await Promise.all(Array.from({ length: 50 }, () => RawClient.session(stack.url)));
    clients.forEach((c, k) => c.send({ t: 'turn.start', id: `m${k}`, text: `question ${k}`, params: { seed: k, max_new_tokens: 12 } }));
    const dones = await Promise.all(clients.map((c, k) => c.waitFor<GenDoneMsg>((m) => m.t === 'gen.done' && m.turn === `m${k}`, 10_000)));
    clients.forEach((c, k) => {
      const foreign = c.frames.filter((f: ServerMessage) => 'turn' in f && f.turn !== `m${k}`);
      expect(foreign).toEqual([]);
      expect(dones[k]!.tokens).toBeGreaterThan(0);
      c.close();
    });
  });
});

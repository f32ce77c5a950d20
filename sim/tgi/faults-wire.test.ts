// Fault injection over the wire: each fault kind on streams and on /generate, configured through the
// admin route, a prompt directive, or the probabilistic plan.
import { once } from 'node:events';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTgiSim, type TgiSim } from './index.ts';
import { events, get, post, readStreamUntil } from './test-client.ts';
import type { RequestClosedEvent } from './types.ts';

const FAST = { ttftMs: 5, itlMs: 2, jitter: 0 } as const;
const body = (inputs = '[INST] Tell me about Paris [/INST]', parameters: Record<string, unknown> = {}): Record<string, unknown> => ({
  inputs,
  parameters: { max_new_tokens: 20, ...parameters },
});

let sim: TgiSim;
beforeAll(async () => {
  sim = await startTgiSim(FAST);
});
afterAll(async () => {
  await sim.close();
});
beforeEach(async () => {
  await get(sim.url, '/__sim/faults', 'DELETE');
});

async function queue(kind: string, count = 1, afterTokens?: number): Promise<void> {
  const res = await post(sim.url, '/__sim/faults', afterTokens === undefined ? { kind, count } : { kind, count, afterTokens });
  expect(res.status).toBe(200);
}

describe('admin route', () => {
  it('queues, lists and clears faults; rejects unknown kinds', async () => {
    await queue('stall', 2, 1);
    expect(JSON.parse((await get(sim.url, '/__sim/faults')).text)).toEqual({ queued: [{ kind: 'stall', remaining: 2, afterTokens: 1 }] });
    expect(JSON.parse((await get(sim.url, '/__sim/faults', 'DELETE')).text)).toEqual({ cleared: 2 });
    const bad = await post(sim.url, '/__sim/faults', { kind: 'meteor' });
    expect(bad.status).toBe(400);
  });

  it('applies a queued fault to exactly `count` requests', async () => {
    await queue('validation', 2);
    for (let i = 0; i < 2; i++) expect((await post(sim.url, '/generate', body())).status).toBe(422);
    expect((await post(sim.url, '/generate', body())).status).toBe(200);
  });
});

describe('fault kinds on streams', () => {
  it('error_mid_stream: k tokens then a generation error event', async () => {
    await queue('error_mid_stream', 1, 3);
    const res = await post(sim.url, '/generate_stream', body());
    expect(res.status).toBe(200);
    const ev = events(res.text);
    expect(ev).toHaveLength(4);
    expect(ev.slice(0, 3).map((e) => e.index)).toEqual([1, 2, 3]);
    expect(res.text.endsWith('\n\ndata: {"error":"Request failed during generation: Server error: CUDA out of memory","error_type":"generation"}\n\n')).toBe(true);
  });

  it('incomplete: k tokens then the incomplete_generation_stream event, no final event', async () => {
    await queue('incomplete', 1, 2);
    const ev = events((await post(sim.url, '/generate_stream', body())).text);
    expect(ev).toHaveLength(3);
    expect(ev.every((e) => !e.generated_text)).toBe(true);
    expect(ev[2]).toEqual({ error: 'Incomplete generation stream', error_type: 'incomplete_generation_stream' });
  });

  it('malformed: k tokens then `data: {not json`', async () => {
    await queue('malformed', 1, 1);
    const res = await post(sim.url, '/generate_stream', body());
    expect(res.text).toMatch(/^data: \{"index":1,[^\n]*\}\n\ndata: \{not json\n\n$/);
  });

  it('validation: in-band validation error with HTTP 200', async () => {
    await queue('validation');
    const res = await post(sim.url, '/generate_stream', body());
    expect(res.status).toBe(200);
    expect(events(res.text)).toEqual([{ error: expect.stringMatching(/^Input validation error: /) as string, error_type: 'validation' }]);
  });

  it('overloaded_429 and unavailable_503: proxy-style HTTP errors with Retry-After', async () => {
    await queue('overloaded_429');
    const a = await post(sim.url, '/generate_stream', body());
    expect(a.status).toBe(429);
    expect(a.headers['retry-after']).toBe('1');
    expect(a.text).toBe('{"error":"Model is overloaded","error_type":"overloaded"}');
    await queue('unavailable_503');
    const b = await post(sim.url, '/generate_stream', body());
    expect(b.status).toBe(503);
    expect(b.headers['retry-after']).toBe('2');
    expect(b.text).toBe('{"error":"unhealthy","error_type":"healthcheck"}');
  });

  it('reset: the socket is destroyed after k tokens', async () => {
    await queue('reset', 1, 2);
    const closed = once(sim.events, 'request-closed') as Promise<[RequestClosedEvent]>;
    const res = await request(sim.url + '/generate_stream', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body()) });
    expect(res.statusCode).toBe(200);
    await expect(res.body.text()).rejects.toThrow();
    const [ev] = await closed;
    expect(ev).toMatchObject({ completed: false, tokensSent: 2 });
  });

  it('stall: k tokens then silence until the client closes', async () => {
    await queue('stall', 1, 2);
    const ac = new AbortController();
    const res = await request(sim.url + '/generate_stream', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body()),
      signal: ac.signal,
    });
    let text = '';
    const reading = (async () => {
      for await (const chunk of res.body) text += (chunk as Buffer).toString('utf8');
    })().catch(() => undefined);
    await new Promise((r) => setTimeout(r, 250));
    expect(events(text).map((e) => e.index)).toEqual([1, 2]);
    expect(sim.inFlight()).toBe(1);
    const closed = once(sim.events, 'request-closed') as Promise<[RequestClosedEvent]>;
    ac.abort();
    await reading;
    const [ev] = await closed;
    expect(ev).toMatchObject({ completed: false, tokensSent: 2 });
  });

  it('slow_first_token: first token after ~10x the TTFT', async () => {
    const slow = await startTgiSim({ ttftMs: 30, itlMs: 1, jitter: 0, perInputTokenMs: 0 });
    try {
      await post(slow.url, '/__sim/faults', { kind: 'slow_first_token' });
      const t0 = performance.now();
      let first = 0;
      await readStreamUntil(slow.url, body(), (t) => {
        if (!first && t.includes('"index":1,')) first = performance.now() - t0;
        return false;
      });
      expect(first).toBeGreaterThanOrEqual(280);
    } finally {
      await slow.close();
    }
  });
});

describe('fault kinds on /generate', () => {
  it.each([
    ['error_mid_stream', 424, '{"error":"Request failed during generation: Server error: CUDA out of memory","error_type":"generation"}'],
    ['incomplete', 500, '{"error":"Incomplete generation","error_type":"incomplete_generation"}'],
    ['overloaded_429', 429, '{"error":"Model is overloaded","error_type":"overloaded"}'],
    ['unavailable_503', 503, '{"error":"unhealthy","error_type":"healthcheck"}'],
    ['malformed', 200, '{not json'],
  ])('%s -> %i', async (kind, status, text) => {
    await queue(kind);
    const res = await post(sim.url, '/generate', body());
    expect(res.status).toBe(status);
    expect(res.text).toBe(text);
  });

  it('reset drops the connection; stall never answers', async () => {
    await queue('reset');
    await expect(post(sim.url, '/generate', body())).rejects.toThrow();
    await queue('stall');
    const ac = new AbortController();
    const pending = request(sim.url + '/generate', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body()),
      signal: ac.signal,
    });
    const winner = await Promise.race([pending.then(() => 'answered'), new Promise((r) => setTimeout(() => r('silent'), 200))]);
    expect(winner).toBe('silent');
    const closed = once(sim.events, 'request-closed') as Promise<[RequestClosedEvent]>;
    ac.abort();
    await pending.catch(() => undefined);
    expect((await closed)[0].completed).toBe(false);
  });
});

describe('other ways to configure faults', () => {
  it('a [[sim:fault=...]] directive in the last user message triggers it', async () => {
    const res = await post(sim.url, '/generate_stream', body('[INST] hello [[sim:fault=error_mid_stream;after=1]] [/INST]'));
    const ev = events(res.text);
    expect(ev).toHaveLength(2);
    expect(ev[1]?.error_type).toBe('generation');
  });

  it('a directive in an earlier turn does not fire again', async () => {
    const inputs = '[INST] hello [[sim:fault=error_mid_stream]] [/INST] Oops </s><s>[INST] try again [/INST]';
    const ev = events((await post(sim.url, '/generate_stream', body(inputs))).text);
    expect(ev.at(-1)?.generated_text).toEqual(expect.any(String));
  });

  it('directives are not echoed into the answer', async () => {
    const res = await post(sim.url, '/generate', body('[INST] Describe Rome [[sim:fault=slow_first_token]] [/INST]', { max_new_tokens: 200 }));
    const text = (JSON.parse(res.text) as { generated_text: string }).generated_text;
    expect(text).toContain('Rome');
    expect(text).not.toContain('sim');
  });

  it('the probabilistic plan option applies faults', async () => {
    const flaky = await startTgiSim({ ...FAST, faults: { probabilities: { incomplete: 1 }, afterTokens: 1 } });
    try {
      const ev = events((await post(flaky.url, '/generate_stream', body())).text);
      expect(ev.map((e) => e.error_type ?? e.index)).toEqual([1, 'incomplete_generation_stream']);
    } finally {
      await flaky.close();
    }
  });
});

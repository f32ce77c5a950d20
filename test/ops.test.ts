// Integration: health, readiness, Prometheus metrics and graceful shutdown (goaway, then 1001).
import { describe, expect, it } from 'vitest';
import { RawClient, startStack, TRANSPORTS } from './harness.ts';
import type { GenDoneMsg, GoawayMsg } from '../protocol/messages.ts';

describe.each(TRANSPORTS)('operations over %s', (transport) => {
  it('serves /healthz, /readyz and /metrics', async () => {
    const stack = await startStack(transport);
    try {
      const h = await fetch(`${stack.httpBase}/healthz`);
      expect(h.status).toBe(200);
      const r = await fetch(`${stack.httpBase}/readyz`);
      expect(r.status).toBe(200);
      expect(await r.json()).toMatchObject({ status: 'ready', backends: { 'llama-2-7b-chat': true } });
      const c = await RawClient.session(stack.url);
      c.send({ t: 'turn.start', id: 'm', text: 'count me', params: { max_new_tokens: 6 } });
      await c.waitFor((m) => m.t === 'gen.done');
      c.send({ t: 'turn.start', id: 'bad', text: 'x', params: { top_p: 2 } });
      await c.waitFor((m) => m.t === 'error');
      const m = await (await fetch(`${stack.httpBase}/metrics`)).text();
      expect(m).toMatch(/vlp_tokens_total 6/);
      expect(m).toMatch(/vlp_turns_total\{outcome="done"\} 1/);
      expect(m).toMatch(/vlp_errors_total\{code="INPUT_PARAM_OUT_OF_RANGE"\} 1/);
      expect(m).toMatch(/vlp_sessions_active 1/);
      expect((await fetch(`${stack.httpBase}/nope`)).status).toBe(404);
      c.close();
    } finally {
      await stack.close();
    }
  });

  it('readyz is 503 when a backend is down', async () => {
    const stack = await startStack(transport, { simUrl: 'http://127.0.0.1:1' });
    try {
      const r = await fetch(`${stack.httpBase}/readyz`);
      expect(r.status).toBe(503);
    } finally {
      await stack.close();
    }
  });

  it('shutdown sends goaway, lets the running turn finish, then closes with 1001', async () => {
    const stack = await startStack(transport, { sim: { ttftMs: 10, itlMs: 10, jitter: 0 } });
    const c = await RawClient.session(stack.url);
    c.send({ t: 'turn.start', id: 's', text: 'finish me', params: { max_new_tokens: 20 } });
    await c.waitFor((m) => m.t === 'gen.token');
    const stopping = stack.gw.shutdown(5000);
    const g = await c.waitFor<GoawayMsg>((m) => m.t === 'goaway');
    expect(g).toMatchObject({ reason: 'shutdown', time_left_ms: 5000 });
    const done = await c.waitFor<GenDoneMsg>((m) => m.t === 'gen.done');
    expect(done.tokens).toBe(20);
    expect(await c.waitFor((m) => m.t === 'error')).toMatchObject({ code: 'SERVER_SHUTTING_DOWN' });
    expect(await c.waitClose()).toBe(1001);
    await stopping;
    await Promise.all([stack.sim.close(), stack.vlm.close(), stack.gsam.close()]);
  });

  it('shutdown cancels turns still running after the grace period (turn.cancelled reason shutdown)', async () => {
    const stack = await startStack(transport, { sim: { ttftMs: 10, itlMs: 40, jitter: 0 } });
    const c = await RawClient.session(stack.url);
    c.send({ t: 'turn.start', id: 'long', text: 'never ending', params: { max_new_tokens: 500 } });
    await c.waitFor((m) => m.t === 'gen.token');
    await stack.gw.shutdown(100);
    expect(await c.waitFor((m) => m.t === 'turn.cancelled')).toMatchObject({ reason: 'shutdown' });
    expect(await c.waitClose()).toBe(1001);
    await Promise.all([stack.sim.close(), stack.vlm.close(), stack.gsam.close()]);
  });
});

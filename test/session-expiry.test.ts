// Session duration limit (limits.maxSessionMs, SPEC §14): ready.expires_in_ms, goaway
// {reason: max_session} sessionNoticeMs before the end (again on a connection that resumed the
// session), then the running turn cancelled with reason max_session and its upstream request
// closed, error SESSION_EXPIRED and close 4003, and no resume afterwards. Both transports, real ws
// clients, the simulated TGI.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorMsg, GoawayMsg, ReadyMsg, TurnCancelledMsg } from '../protocol/messages.ts';
import type { RequestClosedEvent } from '../sim/tgi/index.ts';
import type { TransportKind } from '../src/transport/index.ts';
import { RawClient, startStack, type Stack } from './harness.ts';
import { API_KEY, authStack, bearer, mintToken, withToken } from './auth-helpers.ts';

const MAX_MS = 3000;
const NOTICE_MS = 1500;
/** The sweep runs once a second: each moment may come up to that much late (plus a loaded CI). */
const SWEEP_SLACK_MS = 1600;

describe.each<TransportKind>(['ws', 'uws'])('session duration limit (%s)', (transport) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack(transport, {
      // 40 tokens at 200 ms each: a turn started early is still running when the session ends.
      sim: { ttftMs: 10, itlMs: 200, jitter: 0 },
      config: { limits: { maxSessionMs: MAX_MS, sessionNoticeMs: NOTICE_MS } },
    });
  }, 30_000);
  afterAll(async () => {
    await stack.close();
  });

  it('announces the end, cancels the running turn, closes 4003 and refuses a resume', async () => {
    const helloAt = performance.now();
    const c = await RawClient.session(stack.url);
    const ready = c.frames.find((f): f is ReadyMsg => f.t === 'ready');
    expect(ready?.expires_in_ms).toBeGreaterThan(MAX_MS - 500);
    expect(ready?.expires_in_ms).toBeLessThanOrEqual(MAX_MS);

    let closed: RequestClosedEvent | undefined;
    const onClosed = (e: RequestClosedEvent): void => void (closed = e);
    stack.sim.events.on('request-closed', onClosed);
    try {
      c.send({ t: 'turn.start', id: 'long', text: 'Tell me a long story', params: { max_new_tokens: 40 } });
      await c.waitFor((m) => m.t === 'gen.token');

      const goaway = await c.waitFor<GoawayMsg>((m) => m.t === 'goaway', MAX_MS + SWEEP_SLACK_MS);
      const goawayAt = performance.now() - helloAt;
      expect(goaway.reason).toBe('max_session');
      expect(goaway.time_left_ms).toBeGreaterThan(0);
      // About the notice before the end: up to one sweep period (1 s) earlier, never later.
      expect(goaway.time_left_ms).toBeLessThanOrEqual(NOTICE_MS + 1000);
      expect(goawayAt).toBeGreaterThanOrEqual(MAX_MS - NOTICE_MS - 1000 - 50);
      // The session is still usable after the notice: the turn keeps streaming.
      const tokensAtGoaway = c.framesOf('long').filter((f) => f.t === 'gen.token').length;

      const cancelled = await c.waitFor<TurnCancelledMsg>((m) => m.t === 'turn.cancelled', NOTICE_MS + SWEEP_SLACK_MS);
      expect(cancelled).toMatchObject({ turn: 'long', reason: 'max_session' });
      expect(c.framesOf('long').filter((f) => f.t === 'gen.token').length).toBeGreaterThan(tokensAtGoaway);
      const err = await c.waitFor<ErrorMsg>((m) => m.t === 'error');
      expect(err).toMatchObject({ code: 'SESSION_EXPIRED', fatal: true, retryable: true });
      expect(err.message).toMatch(/maximum duration \(3 s\); start a new session/);
      expect(await c.waitClose()).toBe(4003);
      expect(performance.now() - helloAt).toBeGreaterThanOrEqual(MAX_MS - 50);
      // Cancellation reached the model server: its request was closed before completing.
      await expect.poll(() => closed, { timeout: 1000, interval: 10 }).toBeDefined();
      expect(closed?.completed).toBe(false);
      const metrics = await (await fetch(`${stack.httpBase}/metrics`)).text();
      expect(metrics).toMatch(/^vlp_sessions_total\{outcome="expired"\} [1-9]/m);
    } finally {
      stack.sim.events.off('request-closed', onClosed);
    }

    // The session is gone: a resume fails with 4001.
    const r = await RawClient.open(stack.url);
    r.send({ t: 'hello', client: 'test', resume: { session_id: ready?.session_id ?? '', token: ready?.resume_token ?? '', last_seq: 1 } });
    const refused = await r.waitFor<ErrorMsg>((m) => m.t === 'error');
    expect(refused.code).toBe('SESSION_RESUME_FAILED');
    expect(await r.waitClose()).toBe(4001);
  }, 20_000);

  it('keeps the deadline across a resume, and the resumed connection gets its own goaway', async () => {
    const helloAt = performance.now();
    const first = await RawClient.session(stack.url);
    const ready = first.frames.find((f): f is ReadyMsg => f.t === 'ready');
    if (!ready) throw new Error('no ready');
    await first.waitFor((m) => m.t === 'goaway', MAX_MS + SWEEP_SLACK_MS);
    const lastSeq = Math.max(...first.frames.map((f) => f.seq).filter((s) => s > 0));
    first.ws.terminate();
    await first.waitClose();

    const second = await RawClient.open(stack.url);
    second.send({ t: 'hello', client: 'test', resume: { session_id: ready.session_id, token: ready.resume_token, last_seq: lastSeq } });
    const resumed = await second.waitFor<ReadyMsg>((m) => m.t === 'ready');
    expect(resumed.resumed).toBe(true);
    const left = resumed.expires_in_ms ?? Number.NaN;
    // Counted from the first hello, not from the resume.
    expect(left).toBeLessThanOrEqual(MAX_MS - (performance.now() - helloAt) + 50);
    expect(left).toBeGreaterThan(0);
    // Inside the notice window: the resumed connection gets its goaway right after its ready, not
    // at the next sweep (which might come after the end).
    const goaway = await second.waitFor<GoawayMsg>((m) => m.t === 'goaway', 300);
    expect(second.frames.findIndex((f) => f.t === 'goaway')).toBeGreaterThan(second.frames.findIndex((f) => f.t === 'ready'));
    expect(goaway.reason).toBe('max_session');
    expect(goaway.time_left_ms).toBeLessThanOrEqual(left);
    const err = await second.waitFor<ErrorMsg>((m) => m.t === 'error', NOTICE_MS + SWEEP_SLACK_MS);
    expect(err.code).toBe('SESSION_EXPIRED');
    expect(await second.waitClose()).toBe(4003);
    expect(performance.now() - helloAt).toBeGreaterThanOrEqual(MAX_MS - 50);
  }, 20_000);
});

describe('without a duration limit (the default)', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('ws');
  });
  afterAll(async () => {
    await stack.close();
  });

  it('ready has no expires_in_ms', async () => {
    const c = await RawClient.session(stack.url);
    const ready = c.frames.find((f): f is ReadyMsg => f.t === 'ready');
    expect(ready).toBeDefined();
    expect(ready && 'expires_in_ms' in ready).toBe(false);
    c.close();
  });
});

describe.each<TransportKind>(['ws', 'uws'])('a client token\'s max_session_s claim (%s)', (transport) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await authStack(transport);
  });
  afterAll(async () => {
    await stack.close();
  });

  it('limits the sessions the token opens, although the gateway has no limit; API keys get none', async () => {
    const minted = await mintToken(stack, bearer(API_KEY), JSON.stringify({ ttl_s: 60, max_session_s: 3 }));
    expect(minted.status).toBe(200);
    expect(minted.json.max_session_s).toBe(3);
    const token = String(minted.json.token);
    const startedAt = performance.now();
    const c = await RawClient.session(withToken(stack.url, token));
    const ready = c.frames.find((f): f is ReadyMsg => f.t === 'ready');
    expect(ready?.expires_in_ms).toBeGreaterThan(2500);
    expect(ready?.expires_in_ms).toBeLessThanOrEqual(3000);
    const goaway = await c.waitFor<GoawayMsg>((m) => m.t === 'goaway', 3000 + SWEEP_SLACK_MS);
    expect(goaway.reason).toBe('max_session');
    const err = await c.waitFor<ErrorMsg>((m) => m.t === 'error', 3000 + SWEEP_SLACK_MS);
    expect(err.code).toBe('SESSION_EXPIRED');
    expect(err.message).toMatch(/\(3 s\)/);
    expect(await c.waitClose()).toBe(4003);
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(3000 - 50);

    const withKey = await RawClient.session(stack.url, 'vlp.v1.msgpack', {}, bearer(API_KEY));
    const keyReady = withKey.frames.find((f): f is ReadyMsg => f.t === 'ready');
    expect(keyReady && 'expires_in_ms' in keyReady).toBe(false);
    withKey.close();
  }, 20_000);
});

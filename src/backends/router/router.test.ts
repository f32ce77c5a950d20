// The routed backend over scripted fake replicas: replica choice, breakers, retries, Retry-After,
// the fallback, cancellation (break and abort) and the outstanding counts.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { VlpError } from '../../../protocol/errors.ts';
import type { ErrorCode } from '../../../protocol/errors.ts';
import { isAbortError } from '../abort.ts';
import type { GenEvent, TextGenRequest } from '../ports.ts';
import { FakeBackend, upstream } from './fake-backend.testkit.ts';
import { createRoutedBackend } from './router.ts';
import type { RoutedBackend, RoutedBackendOptions, RouterLogEvent } from './router.ts';

type RetryInfo = { code: string; attempt: number; backend: string };

const routers: RoutedBackend[] = [];
afterEach(async () => {
  for (const r of routers.splice(0)) await r.close();
  vi.useRealTimers();
  vi.restoreAllMocks();
});

function fakes(...ids: string[]): FakeBackend[] {
  return ids.map((id) => new FakeBackend(id));
}

function route(replicas: FakeBackend[], over: Partial<RoutedBackendOptions> = {}): { router: RoutedBackend; logs: RouterLogEvent[] } {
  const logs: RouterLogEvent[] = [];
  const router = createRoutedBackend({ id: 'llm', replicas, baseBackoffMs: 0, log: (e) => logs.push(e), ...over });
  routers.push(router);
  return { router, logs };
}

function request(retries: RetryInfo[] = [], signal: AbortSignal = new AbortController().signal): TextGenRequest {
  return {
    messages: [{ role: 'user', content: 'hi' }],
    params: { max_new_tokens: 8 },
    signal,
    onRetry: (info) => retries.push(info),
  };
}

async function collect(it: AsyncIterable<GenEvent>): Promise<{ text: string; events: GenEvent[]; error: unknown }> {
  const events: GenEvent[] = [];
  try {
    for await (const ev of it) events.push(ev);
    return { text: textOf(events), events, error: undefined };
  } catch (error) {
    return { text: textOf(events), events, error };
  }
}

function textOf(events: GenEvent[]): string {
  return events.map((e) => (e.kind === 'token' ? e.text : '|')).join('');
}

function expectCode(error: unknown, code: ErrorCode): VlpError {
  expect(error).toBeInstanceOf(VlpError);
  expect((error as VlpError).code).toBe(code);
  return error as VlpError;
}

function outstanding(router: RoutedBackend): number[] {
  return router.stats().replicas.map((r) => r.outstanding);
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('router: replica choice', () => {
  it('sends each new stream to the replica with the fewest outstanding requests', async () => {
    const [a, b, c] = fakes('a', 'b', 'c') as [FakeBackend, FakeBackend, FakeBackend];
    for (const f of [a, b, c]) f.plan({ hold: true }, { hold: true });
    const { router } = route([a, b, c]);
    const s1 = collect(router.generate(request()));
    const s2 = collect(router.generate(request()));
    const s3 = collect(router.generate(request()));
    await tick();
    expect(outstanding(router)).toEqual([1, 1, 1]);
    b.release();
    expect((await s2).text).toBe('ab|');
    expect(outstanding(router)).toEqual([1, 0, 1]);
    const s4 = collect(router.generate(request()));
    await tick();
    expect([a.calls, b.calls, c.calls]).toEqual([1, 2, 1]); // b was alone at 0
    const s5 = collect(router.generate(request()));
    await tick();
    expect([a.calls, b.calls, c.calls]).toEqual([1, 2, 2]); // a tie at 1: round-robin goes on after b
    expect(outstanding(router)).toEqual([1, 1, 2]);
    for (const f of [a, b, c]) f.release();
    const results = await Promise.all([s1, s3, s4, s5]);
    expect(results.map((r) => r.text)).toEqual(['ab|', 'ab|', 'ab|', 'ab|']);
    expect(outstanding(router)).toEqual([0, 0, 0]);
    expect([a, b, c].map((f) => f.active)).toEqual([0, 0, 0]);
  });

  it('breaks ties round-robin', async () => {
    const replicas = fakes('a', 'b', 'c');
    const { router } = route(replicas);
    const order: string[] = [];
    for (let i = 0; i < 6; i++) {
      const before = replicas.map((f) => f.calls);
      await collect(router.generate(request()));
      order.push(replicas.find((f, k) => f.calls !== before[k])?.id ?? '?');
    }
    expect(order).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
  });
});

describe('router: circuit breakers', () => {
  it('marks a replica down after 3 consecutive counted failures and routes around it', async () => {
    const [a, b] = fakes('a', 'b') as [FakeBackend, FakeBackend];
    a.plan({ fail: upstream('UPSTREAM_OVERLOADED') }, { fail: upstream('UPSTREAM_TIMEOUT') }, { fail: upstream('UPSTREAM_RESET') });
    const { router, logs } = route([a, b], { maxAttempts: 1 });
    const codes: unknown[] = [];
    for (let i = 0; i < 6; i++) {
      const { error } = await collect(router.generate(request()));
      codes.push(error instanceof VlpError ? error.code : 'ok');
    }
    // a, b, a, b, a (third failure: down), then b only
    expect(codes).toEqual(['UPSTREAM_OVERLOADED', 'ok', 'UPSTREAM_TIMEOUT', 'ok', 'UPSTREAM_RESET', 'ok']);
    expect(router.stats().replicas.map((r) => r.up)).toEqual([false, true]);
    expect(logs).toContainEqual({ kind: 'replica_down', backend: 'a', code: 'UPSTREAM_RESET' });
    await collect(router.generate(request()));
    expect([a.calls, b.calls]).toEqual([3, 4]);
  });

  it('a success resets the count; REJECTED and PROTOCOL never count', async () => {
    const [a] = fakes('a') as [FakeBackend];
    a.plan(
      { fail: upstream('UPSTREAM_OVERLOADED') }, { fail: upstream('UPSTREAM_OVERLOADED') }, {},
      { fail: upstream('UPSTREAM_OVERLOADED') }, { fail: upstream('UPSTREAM_OVERLOADED') },
      { fail: upstream('UPSTREAM_REJECTED') }, { fail: upstream('UPSTREAM_PROTOCOL') }, { fail: upstream('UPSTREAM_REJECTED') },
    );
    const { router } = route([a], { maxAttempts: 1 });
    for (let i = 0; i < 8; i++) await collect(router.generate(request()));
    expect(router.stats().replicas[0]?.up).toBe(true);
  });

  it('opens at once on UPSTREAM_UNAVAILABLE, probes it back up, and stops the timer', async () => {
    vi.useFakeTimers();
    const [a, b] = fakes('a', 'b') as [FakeBackend, FakeBackend];
    a.plan({ fail: upstream('UPSTREAM_UNAVAILABLE') });
    a.probeAnswer = () => Promise.resolve(false);
    const { router, logs } = route([a, b]);
    const retries: RetryInfo[] = [];
    const { text } = await collect(router.generate(request(retries)));
    expect(text).toBe('ab|'); // served by b
    expect(retries).toEqual([{ code: 'UPSTREAM_UNAVAILABLE', attempt: 2, backend: 'a' }]);
    expect(router.stats().replicas.map((r) => r.up)).toEqual([false, true]);
    expect(vi.getTimerCount()).toBe(1); // one probe timer for the one down replica
    await vi.advanceTimersByTimeAsync(2000);
    expect(a.probes).toBe(1);
    expect(router.stats().replicas[0]?.up).toBe(false);
    a.probeAnswer = () => Promise.resolve(true);
    await vi.advanceTimersByTimeAsync(2000);
    expect(a.probes).toBe(2);
    expect(router.stats().replicas[0]?.up).toBe(true);
    expect(logs.filter((l) => l.kind.startsWith('replica_'))).toEqual([
      { kind: 'replica_down', backend: 'a', code: 'UPSTREAM_UNAVAILABLE' },
      { kind: 'replica_up', backend: 'a' },
    ]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('close() stops the probe timers and closes every replica and the fallback', async () => {
    vi.useFakeTimers();
    const [a, b] = fakes('a', 'b') as [FakeBackend, FakeBackend];
    const fb = new FakeBackend('fb');
    a.plan({ fail: upstream('UPSTREAM_UNAVAILABLE') });
    b.plan({ fail: upstream('UPSTREAM_UNAVAILABLE') });
    a.probeAnswer = b.probeAnswer = () => Promise.resolve(false);
    const { router } = route([a, b], { fallback: fb });
    await collect(router.generate(request()));
    expect(router.stats().replicas.map((r) => r.up)).toEqual([false, false]);
    expect(vi.getTimerCount()).toBe(2);
    await router.close();
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(a.probes + b.probes).toBe(0);
    expect([a.closed, b.closed, fb.closed]).toEqual([true, true, true]);
    await router.close(); // idempotent
  });

  it('with every replica down, still tries the one whose breaker opened longest ago', async () => {
    let clock = 1000;
    const [a, b] = fakes('a', 'b') as [FakeBackend, FakeBackend];
    a.probeAnswer = b.probeAnswer = () => Promise.resolve(false);
    b.plan({ fail: upstream('UPSTREAM_UNAVAILABLE') });
    a.plan({ fail: upstream('UPSTREAM_UNAVAILABLE') }, { fail: upstream('UPSTREAM_UNAVAILABLE') });
    const { router, logs } = route([b, a], { now: () => clock, maxAttempts: 1 });
    await collect(router.generate(request())); // b opens at 1000
    clock = 2000;
    await collect(router.generate(request())); // a opens at 2000
    expect(router.stats().replicas.map((r) => r.up)).toEqual([false, false]);
    clock = 3000;
    const third = await collect(router.generate(request())); // b (oldest) tried, succeeds
    expect(third.error).toBeUndefined();
    expect(b.calls).toBe(2);
    expect(router.stats().replicas.map((r) => r.up)).toEqual([true, false]);
    expect(logs.at(-1)).toEqual({ kind: 'replica_up', backend: 'b' });
    // now a is the only down one; with b up, a is not tried
    await collect(router.generate(request()));
    expect(a.calls).toBe(1);
  });

  it('all-down trials rotate: a failed trial re-arms that replica', async () => {
    let clock = 0;
    const [a, b] = fakes('a', 'b') as [FakeBackend, FakeBackend];
    a.probeAnswer = b.probeAnswer = () => Promise.resolve(false);
    for (const f of [a, b]) f.plan(...Array.from({ length: 3 }, () => ({ fail: upstream('UPSTREAM_UNAVAILABLE') })));
    const { router } = route([a, b], { now: () => ++clock, maxAttempts: 1 });
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) {
      const before = [a.calls, b.calls];
      const { error } = await collect(router.generate(request()));
      expectCode(error, 'UPSTREAM_UNAVAILABLE');
      seen.push(a.calls !== before[0] ? 'a' : 'b');
    }
    expect(seen).toEqual(['a', 'b', 'a', 'b', 'a', 'b']);
  });
});

describe('router: retries', () => {
  it.each(['UPSTREAM_OVERLOADED', 'UPSTREAM_RESET', 'UPSTREAM_TIMEOUT'] as const)(
    '%s before the first token goes to another replica and calls onRetry', async (code) => {
      const [a, b] = fakes('a', 'b') as [FakeBackend, FakeBackend];
      a.plan({ tokens: [], fail: upstream(code) });
      const { router, logs } = route([a, b]);
      const retries: RetryInfo[] = [];
      const { text, error } = await collect(router.generate(request(retries)));
      expect(error).toBeUndefined();
      expect(text).toBe('ab|');
      expect([a.calls, b.calls]).toEqual([1, 1]);
      expect(retries).toEqual([{ code, attempt: 2, backend: 'a' }]);
      expect(logs).toContainEqual({ kind: 'retry', backend: 'a', code });
      expect(outstanding(router)).toEqual([0, 0]);
    });

  it('gives up after maxAttempts and throws the last error', async () => {
    const [a, b] = fakes('a', 'b') as [FakeBackend, FakeBackend];
    a.plan({ fail: upstream('UPSTREAM_OVERLOADED') }, { fail: upstream('UPSTREAM_TIMEOUT') });
    b.plan({ fail: upstream('UPSTREAM_RESET') });
    const { router } = route([a, b]);
    const retries: RetryInfo[] = [];
    const { error } = await collect(router.generate(request(retries)));
    expectCode(error, 'UPSTREAM_TIMEOUT'); // a, b, then a again: three attempts
    expect([a.calls, b.calls]).toEqual([2, 1]);
    expect(retries.map((r) => [r.attempt, r.backend, r.code])).toEqual([[2, 'a', 'UPSTREAM_OVERLOADED'], [3, 'b', 'UPSTREAM_RESET']]);
  });

  it('never retries after the first token: the error propagates as is after one attempt', async () => {
    const [a, b] = fakes('a', 'b') as [FakeBackend, FakeBackend];
    const fb = new FakeBackend('fb');
    const reset = upstream('UPSTREAM_RESET');
    a.plan({ tokens: ['x', 'y'], fail: reset });
    const { router } = route([a, b], { fallback: fb });
    const retries: RetryInfo[] = [];
    const { text, error } = await collect(router.generate(request(retries)));
    expect(error).toBe(reset);
    expect(text).toBe('xy');
    expect([a.calls, b.calls, fb.calls]).toEqual([1, 0, 0]);
    expect(retries).toEqual([]);
    expect(outstanding(router)).toEqual([0, 0]);
  });

  it.each(['UPSTREAM_REJECTED', 'UPSTREAM_PROTOCOL', 'UPSTREAM_GENERATION_FAILED'] as const)('does not retry %s (nor fall back)', async (code) => {
    const [a, b] = fakes('a', 'b') as [FakeBackend, FakeBackend];
    const fb = new FakeBackend('fb');
    a.plan({ tokens: [], fail: upstream(code) });
    const { router } = route([a, b], { fallback: fb });
    const retries: RetryInfo[] = [];
    const { error } = await collect(router.generate(request(retries)));
    expectCode(error, code);
    expect([a.calls, b.calls, fb.calls]).toEqual([1, 0, 0]);
    expect(retries).toEqual([]);
  });

  it('waits out a Retry-After before retrying the replica that sent it', async () => {
    vi.useFakeTimers();
    const [a] = fakes('a') as [FakeBackend];
    a.plan({ fail: upstream('UPSTREAM_OVERLOADED', 1) });
    const { router } = route([a], { baseBackoffMs: 50 });
    const retries: RetryInfo[] = [];
    const result = collect(router.generate(request(retries)));
    await vi.advanceTimersByTimeAsync(999);
    expect(a.calls).toBe(1);
    expect(retries).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    const { text, error } = await result;
    expect(error).toBeUndefined();
    expect(text).toBe('ab|');
    expect(a.calls).toBe(2);
    expect(retries).toEqual([{ code: 'UPSTREAM_OVERLOADED', attempt: 2, backend: 'a' }]);
  });

  it('does not wait for a Retry-After over maxRetryAfterMs: the error goes to the client', async () => {
    vi.useFakeTimers();
    const [a] = fakes('a') as [FakeBackend];
    a.plan({ fail: upstream('UPSTREAM_OVERLOADED', 5) });
    const { router } = route([a], { maxRetryAfterMs: 2000 });
    const { error } = await collect(router.generate(request()));
    expect(expectCode(error, 'UPSTREAM_OVERLOADED').retryAfterS).toBe(5);
    expect(a.calls).toBe(1);
  });

  it('a long Retry-After sends the retry to another replica, and later requests avoid the cooling one', async () => {
    vi.useFakeTimers();
    const [a, b] = fakes('a', 'b') as [FakeBackend, FakeBackend];
    a.plan({ fail: upstream('UPSTREAM_OVERLOADED', 5) });
    const { router } = route([a, b]);
    expect((await collect(router.generate(request()))).error).toBeUndefined();
    expect([a.calls, b.calls]).toEqual([1, 1]);
    await collect(router.generate(request())); // a still cooling: b again
    expect([a.calls, b.calls]).toEqual([1, 2]);
    vi.advanceTimersByTime(5000);
    await collect(router.generate(request()));
    expect([a.calls, b.calls]).toEqual([2, 2]);
  });

  it('backs off (jittered, exponential) between attempts on the same replica', async () => {
    vi.useFakeTimers();
    vi.spyOn(Math, 'random').mockReturnValue(1);
    const [a] = fakes('a') as [FakeBackend];
    a.plan({ fail: upstream('UPSTREAM_OVERLOADED') }, { fail: upstream('UPSTREAM_OVERLOADED') });
    const { router } = route([a], { baseBackoffMs: 100 });
    const result = collect(router.generate(request()));
    await vi.advanceTimersByTimeAsync(99);
    expect(a.calls).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(a.calls).toBe(2);
    await vi.advanceTimersByTimeAsync(199);
    expect(a.calls).toBe(2);
    await vi.advanceTimersByTimeAsync(1);
    expect((await result).error).toBeUndefined();
    expect(a.calls).toBe(3);
  });

  it('an abort during the backoff throws the AbortError at once, with no further attempt', async () => {
    const [a, b] = fakes('a', 'b') as [FakeBackend, FakeBackend];
    const fb = new FakeBackend('fb');
    a.plan({ fail: upstream('UPSTREAM_OVERLOADED') });
    const { router } = route([a, b], { fallback: fb, baseBackoffMs: 10_000, maxRetryAfterMs: 10_000 });
    const ac = new AbortController();
    const retries: RetryInfo[] = [];
    const t0 = performance.now();
    const result = collect(router.generate(request(retries, ac.signal)));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(a.calls).toBe(1);
    ac.abort(new Error('barge-in'));
    const { error } = await result;
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(isAbortError(error)).toBe(true);
    expect([a.calls, b.calls, fb.calls]).toEqual([1, 0, 0]);
    expect(retries).toEqual([]);
  });
});

describe('router: fallback', () => {
  it('is tried once after the replicas are exhausted', async () => {
    const [a, b] = fakes('a', 'b') as [FakeBackend, FakeBackend];
    const fb = new FakeBackend('fb');
    a.plan({ fail: upstream('UPSTREAM_OVERLOADED') });
    b.plan({ fail: upstream('UPSTREAM_RESET') });
    fb.plan({ tokens: ['f'] });
    const { router, logs } = route([a, b], { fallback: fb, maxAttempts: 2 });
    const retries: RetryInfo[] = [];
    const { text, error } = await collect(router.generate(request(retries)));
    expect(error).toBeUndefined();
    expect(text).toBe('f|');
    expect([a.calls, b.calls, fb.calls]).toEqual([1, 1, 1]);
    expect(retries).toEqual([
      { code: 'UPSTREAM_OVERLOADED', attempt: 2, backend: 'a' },
      { code: 'UPSTREAM_RESET', attempt: 3, backend: 'b' },
    ]);
    expect(logs).toContainEqual({ kind: 'fallback', backend: 'fb', code: 'UPSTREAM_RESET' });
  });

  it("propagates the fallback's own error", async () => {
    const [a] = fakes('a') as [FakeBackend];
    const fb = new FakeBackend('fb');
    a.plan({ fail: upstream('UPSTREAM_OVERLOADED', 30) });
    const failed = upstream('UPSTREAM_GENERATION_FAILED');
    fb.plan({ fail: failed, tokens: [] });
    const { router } = route([a], { fallback: fb });
    const { error } = await collect(router.generate(request()));
    expect(error).toBe(failed);
    expect(fb.calls).toBe(1);
  });

  it('serves straight away when every replica is down', async () => {
    const [a] = fakes('a') as [FakeBackend];
    const fb = new FakeBackend('fb');
    a.probeAnswer = () => Promise.resolve(false);
    a.plan({ fail: upstream('UPSTREAM_UNAVAILABLE') });
    const { router, logs } = route([a], { fallback: fb });
    await collect(router.generate(request())); // a down → fallback
    const retries: RetryInfo[] = [];
    const { text } = await collect(router.generate(request(retries)));
    expect(text).toBe('ab|');
    expect([a.calls, fb.calls]).toEqual([1, 2]);
    expect(retries).toEqual([]); // not a retry: the first attempt went to the fallback
    expect(logs.at(-1)).toEqual({ kind: 'fallback', backend: 'fb' });
  });

  it('is skipped for a request with images when it has no vision', async () => {
    const a = new FakeBackend('a', { vision: true, streaming: true });
    const fb = new FakeBackend('fb', { vision: false, streaming: true });
    a.plan({ fail: upstream('UPSTREAM_OVERLOADED', 30) });
    const { router } = route([a], { fallback: fb });
    const req = request();
    req.messages = [{ role: 'user', content: 'what is this?', images: ['data:image/png;base64,AA=='] }];
    expectCode((await collect(router.generate(req))).error, 'UPSTREAM_OVERLOADED');
    expect(fb.calls).toBe(0);
  });
});

describe('router: cancellation and outstanding counts', () => {
  it("a consumer break calls return() on the replica's iterator and decrements outstanding", async () => {
    const [a] = fakes('a') as [FakeBackend];
    a.plan({ tokens: ['x', 'y', 'z'] });
    const { router } = route([a]);
    for await (const ev of router.generate(request())) {
      expect(ev).toMatchObject({ kind: 'token', text: 'x' });
      expect(outstanding(router)).toEqual([1]);
      break;
    }
    expect(a.returns).toBe(1);
    expect(a.active).toBe(0);
    expect(outstanding(router)).toEqual([0]);
  });

  it('an abort mid-stream reaches the replica, throws AbortError, no retry, outstanding back to 0', async () => {
    const [a, b] = fakes('a', 'b') as [FakeBackend, FakeBackend];
    a.plan({ tokens: ['x', 'y'], hold: true, holdAfter: 1 });
    const { router } = route([a, b]);
    const ac = new AbortController();
    const events: GenEvent[] = [];
    let error: unknown;
    try {
      for await (const ev of router.generate(request([], ac.signal))) {
        events.push(ev);
        ac.abort();
      }
    } catch (err) {
      error = err;
    }
    expect(isAbortError(error)).toBe(true);
    expect(events).toHaveLength(1);
    expect([a.calls, b.calls]).toEqual([1, 0]);
    expect(a.active).toBe(0);
    expect(outstanding(router)).toEqual([0, 0]);
    expect(router.stats().replicas[0]?.up).toBe(true);
  });

  it('return() before the first event closes the attempt and decrements outstanding once', async () => {
    const [a] = fakes('a') as [FakeBackend];
    a.plan({ tokens: ['x'], hold: true, holdAfter: 0 });
    const { router } = route([a]);
    const it = router.generate(request())[Symbol.asyncIterator]();
    const first = it.next();
    await tick();
    expect(outstanding(router)).toEqual([1]);
    expect(await it.return?.()).toEqual({ done: true, value: undefined });
    a.release();
    expect(await first).toEqual({ done: true, value: undefined });
    await tick();
    expect(outstanding(router)).toEqual([0]);
    expect(a.returns).toBe(1);
    expect(await it.next()).toEqual({ done: true, value: undefined });
  });

  it('an already aborted request tries nothing', async () => {
    const [a] = fakes('a') as [FakeBackend];
    const { router } = route([a]);
    const ac = new AbortController();
    ac.abort();
    expect(isAbortError((await collect(router.generate(request([], ac.signal)))).error)).toBe(true);
    expect(a.calls).toBe(0);
  });
});

describe('router: construction, probe, stats', () => {
  it('takes capabilities from the replicas and refuses replicas that disagree', () => {
    const v = new FakeBackend('v', { vision: true, streaming: true });
    const t = new FakeBackend('t', { vision: false, streaming: true });
    expect(route([v]).router.capabilities).toEqual({ vision: true, streaming: true });
    expect(() => createRoutedBackend({ id: 'x', replicas: [v, t] })).toThrow(/capabilities/);
    expect(() => createRoutedBackend({ id: 'x', replicas: [] })).toThrow(/at least one replica/);
    expect(() => createRoutedBackend({ id: 'x', replicas: [v], maxAttempts: 0 })).toThrow(/maxAttempts/);
  });

  it('probe() is true when any replica answers, and brings that replica up', async () => {
    const [a, b] = fakes('a', 'b') as [FakeBackend, FakeBackend];
    a.probeAnswer = () => Promise.resolve(false);
    b.probeAnswer = () => Promise.reject(new Error('refused'));
    a.plan({ fail: upstream('UPSTREAM_UNAVAILABLE') });
    const { router } = route([a, b], { maxAttempts: 1 });
    await collect(router.generate(request()));
    expect(await router.probe(100)).toBe(false);
    a.probeAnswer = () => Promise.resolve(true);
    expect(await router.probe(100)).toBe(true);
    expect(router.stats()).toEqual({ replicas: [{ id: 'a', up: true, outstanding: 0 }, { id: 'b', up: true, outstanding: 0 }] });
  });
});

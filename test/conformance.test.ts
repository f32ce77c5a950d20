// Conformance: the same suite against every TextGen adapter (TGI native, OpenAI Messages API,
// SageMaker response streaming through the real AWS SDK), each reached through the real gateway
// and the fleet simulator: token order, gen.done fields, cancellation closing upstream within
// 50 ms, error mapping to stable codes, and retries only before the first token.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { ConfigSchema } from '../src/config/schema.ts';
import { Gateway } from '../src/gateway.ts';
import { startFleetSim, type FleetSim } from '../sim/fleet.ts';
import { RawClient } from './harness.ts';
import type { ErrorMsg, GenDoneMsg, GenTokenMsg, TurnMetricsMsg } from '../protocol/messages.ts';

const ADAPTERS = ['tgi', 'openai', 'sagemaker'] as const;
type Adapter = (typeof ADAPTERS)[number];

let fleet: FleetSim;
let gw: Gateway;
let url = '';
/** Simulator-side request closes, by adapter path. */
const closes: { at: number; completed: boolean; path: Adapter }[] = [];
let requests = 0;

beforeAll(async () => {
  // Static fake credentials for the real AWS SDK's default provider chain; the simulator accepts any signature.
  process.env.AWS_ACCESS_KEY_ID = 'AKIDSIMULATOR';
  process.env.AWS_SECRET_ACCESS_KEY = 'simulator-secret';
  process.env.AWS_REGION = 'us-east-1';
  fleet = await startFleetSim({ ttftMs: 20, itlMs: 15, jitter: 0 });
  fleet.llm.events.on('request', () => requests++);
  fleet.llm.events.on('request-closed', (e) => closes.push({ at: e.atMs, completed: e.completed, path: 'tgi' }));
  fleet.sagemaker.events.on('request-closed', (e) => closes.push({ at: e.atMs, completed: e.completed, path: 'sagemaker' }));
  const config = ConfigSchema.parse({
    host: '127.0.0.1',
    port: 0,
    logLevel: 'silent',
    upstream: { interTokenTimeoutMs: 500, firstTokenTimeoutMs: 3000 },
    models: [
      { id: 'tgi', kind: 'llm', backend: 'tgi', urls: [fleet.llmUrl, fleet.llmUrl], template: 'llama2-chat', params: { max_new_tokens: 30 } },
      { id: 'openai', kind: 'llm', backend: 'openai', urls: [fleet.llmUrl, fleet.llmUrl], template: 'server', params: { max_new_tokens: 30 } },
      {
        id: 'sagemaker',
        kind: 'llm',
        backend: 'sagemaker',
        template: 'llama2-chat',
        sagemaker: { endpointName: fleet.sagemakerEndpoints.llm, endpointUrl: fleet.sagemakerUrl, region: 'us-east-1' },
        params: { max_new_tokens: 30 },
      },
      { id: 'idefics-9b-instruct', kind: 'vlm', backend: 'tgi', urls: [fleet.vlmUrl], template: 'idefics' },
    ],
    defaultModel: 'tgi',
  });
  gw = new Gateway(config, pino({ level: 'silent' }), { defaultMetrics: false });
  url = `ws://127.0.0.1:${await gw.start()}/v1/ws`;
});

afterAll(async () => {
  await gw.shutdown(0);
  await fleet.close();
});

describe.each(ADAPTERS)('TextGen conformance: %s', (model: Adapter) => {
  it('streams tokens in order and ends with a complete gen.done', async () => {
    const c = await RawClient.session(url);
    c.send({ t: 'turn.start', id: 'a', text: 'What is the capital of France?', model, params: { seed: 11, max_new_tokens: 12, do_sample: true } });
    const done = await c.waitFor<GenDoneMsg>((m) => m.t === 'gen.done');
    const tokens = c.framesOf('a').filter((f): f is GenTokenMsg => f.t === 'gen.token');
    let next = 0;
    for (const t of tokens) {
      expect(t.i).toBe(next);
      next += t.n;
    }
    expect(next).toBeGreaterThan(0);
    expect(done).toMatchObject({ finish: 'length', tokens: 12 });
    expect(done.ttft_ms).toBeGreaterThan(0);
    expect(done.total_ms).toBeGreaterThanOrEqual(done.ttft_ms);
    expect(done.text).toBe(tokens.map((t) => t.text).join('').trim());
    const metrics = await c.waitFor<TurnMetricsMsg>((m) => m.t === 'turn.metrics');
    expect(metrics.counts.tokens).toBe(12);
    c.close();
  });

  it('gives the same answer for the same seed as the TGI-native path', async () => {
    const c = await RawClient.session(url);
    c.send({ t: 'turn.start', id: 'n', text: 'Name a colour.', model: 'tgi', params: { seed: 5, max_new_tokens: 8, do_sample: true } });
    const native = await c.waitFor<GenDoneMsg>((m) => m.t === 'gen.done' && m.turn === 'n');
    c.send({ t: 'turn.start', id: 'x', text: 'Name a colour.', model, params: { seed: 5, max_new_tokens: 8, do_sample: true } });
    const other = await c.waitFor<GenDoneMsg>((m) => m.t === 'gen.done' && m.turn === 'x');
    expect(other.tokens).toBe(native.tokens);
    c.close();
  });

  it('turn.cancel closes the upstream request within 50 ms', async () => {
    const c = await RawClient.session(url);
    c.send({ t: 'turn.start', id: 'c', text: 'Tell me a long story', model, params: { max_new_tokens: 200 } });
    await c.waitFor((m) => m.t === 'gen.token');
    const mark = closes.length;
    const sentAt = performance.now();
    c.send({ t: 'turn.cancel', id: 'c' });
    await c.waitFor((m) => m.t === 'turn.cancelled');
    const path: Adapter = model === 'sagemaker' ? 'sagemaker' : 'tgi';
    for (let k = 0; k < 50 && !closes.slice(mark).some((e) => e.path === path); k++) await new Promise((r) => setTimeout(r, 2));
    const closed = closes.slice(mark).find((e) => e.path === path);
    expect(closed).toBeDefined();
    expect(closed!.completed).toBe(false);
    expect(closed!.at - sentAt).toBeLessThan(50);
    c.close();
  });

  it.each([
    ['error_mid_stream', 'UPSTREAM_GENERATION_FAILED'],
    ['reset', 'UPSTREAM_RESET'],
    ['stall', 'UPSTREAM_TIMEOUT'],
    ['validation', 'UPSTREAM_REJECTED'],
  ])('maps %s to %s and the session goes on', async (fault, code) => {
    const c = await RawClient.session(url);
    c.send({ t: 'turn.start', id: 'f', text: `hello [[sim:fault=${fault}]]`, model });
    const e = await c.waitFor<ErrorMsg>((m) => m.t === 'error', 8000);
    expect(e.code).toBe(code);
    expect(e.turn).toBe('f');
    c.send({ t: 'turn.start', id: 'g', text: 'fine now?', model, params: { max_new_tokens: 3 } });
    await c.waitFor((m) => m.t === 'gen.done' && m.turn === 'g');
    c.close();
  });

  it('never retries after the first token reached the client', async () => {
    const c = await RawClient.session(url);
    const before = requests;
    c.send({ t: 'turn.start', id: 'r', text: 'go [[sim:fault=error_mid_stream]]', model });
    await c.waitFor((m) => m.t === 'error');
    const metrics = await c.waitFor<TurnMetricsMsg>((m) => m.t === 'turn.metrics');
    expect(c.framesOf('r').some((f) => f.t === 'gen.token')).toBe(true);
    expect(metrics.counts.retries).toBe(0);
    expect(requests - before).toBe(1);
    c.close();
  });
});

describe('SageMaker stream errors through the gateway', () => {
  it.each([
    ['model_stream_error', 'UPSTREAM_RESET'],
    ['model_invocation_time_exceeded', 'UPSTREAM_TIMEOUT'],
    ['internal_stream_failure', 'UPSTREAM_GENERATION_FAILED'],
  ])('%s → %s, typed and flagged retryable, and the session goes on', async (fault, code) => {
    const c = await RawClient.session(url);
    c.send({ t: 'turn.start', id: 's', text: `hello [[sim:fault=${fault}]]`, model: 'sagemaker' });
    const e = await c.waitFor<ErrorMsg>((m) => m.t === 'error', 8000);
    expect(e).toMatchObject({ code, retryable: true, fatal: false, turn: 's' });
    c.send({ t: 'turn.start', id: 'n', text: 'again', model: 'sagemaker', params: { max_new_tokens: 3 } });
    await c.waitFor((m) => m.t === 'gen.done' && m.turn === 'n');
    c.close();
  });
});

describe('retries before the first token', () => {
  it.each(['tgi', 'openai'] as const)('%s: a 503 from one replica is retried on the other and the turn succeeds', async (model) => {
    const c = await RawClient.session(url);
    await fetch(`${fleet.llmUrl}/__sim/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'unavailable_503', count: 1 }) });
    const before = requests;
    c.send({ t: 'turn.start', id: 'rr', text: 'hello', model, params: { max_new_tokens: 4 } });
    const done = await c.waitFor<GenDoneMsg>((m) => m.t === 'gen.done');
    const metrics = await c.waitFor<TurnMetricsMsg>((m) => m.t === 'turn.metrics');
    expect(done.tokens).toBe(4);
    expect(metrics.counts.retries).toBe(1);
    expect(requests - before).toBe(2);
    c.close();
  });
});

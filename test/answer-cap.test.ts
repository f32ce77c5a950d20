// The gateway bounds every answer itself: a backend that gets no max_new_tokens (model params {})
// stops at limits.maxNewTokens, and one that ignores the max_new_tokens it was sent stops at that
// value. The client gets exactly that many tokens and gen.done finish 'length' (with empty text:
// the answer is the tokens'), the upstream request is closed (the simulator / fake server sees it
// end early) and the exchange stays out of the dialogue history. Covers TGI native SSE, the OpenAI
// Messages API and SageMaker response streaming, all through the real gateway. (The cap itself is
// the registry's, backends/token-cap.ts: test/token-cap-consumers.test.ts covers the other
// consumers of the generation port.)
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import pino from 'pino';
import { ConfigSchema } from '../src/config/schema.ts';
import { Gateway } from '../src/gateway.ts';
import { startFleetSim, type FleetSim } from '../sim/fleet.ts';
import type { RequestClosedEvent } from '../sim/tgi/index.ts';
import type { SageMakerRequestClosedEvent } from '../sim/sagemaker/index.ts';
import { RawClient } from './harness.ts';
import { startFakeUpstream, UPSTREAM_TOKENS, type FakeRequest, type FakeUpstream } from './ignoring-upstream.ts';
import type { ErrorMsg, GenDoneMsg, GenTokenMsg, ServerMessage, TurnMetricsMsg } from '../protocol/messages.ts';

/** limits.maxNewTokens of the gateway under test. */
const CEILING = 64;

// ---- the stack ------------------------------------------------------------------------------------

let fleet: FleetSim;
let fake: FakeUpstream;
let gw: Gateway;
let url = '';
const tgiCloses: RequestClosedEvent[] = [];
const smCloses: SageMakerRequestClosedEvent[] = [];

beforeAll(async () => {
  // Static fake credentials for the real AWS SDK's default provider chain (the SageMaker model);
  // the simulator accepts any signature.
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDSIMULATOR');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'simulator-secret');
  vi.stubEnv('AWS_REGION', 'us-east-1');
  // The simulated TGI answers 10 000 tokens whenever max_new_tokens is not sent (TGI's default is
  // max_total_tokens − input).
  fleet = await startFleetSim({ ttftMs: 5, itlMs: 1, jitter: 0, llm: { answerTokens: { min: UPSTREAM_TOKENS, max: UPSTREAM_TOKENS }, maxTotalTokens: 20_000 } });
  fleet.llm.events.on('request-closed', (e) => tgiCloses.push(e));
  fleet.sagemaker.events.on('request-closed', (e) => smCloses.push(e));
  fake = await startFakeUpstream();
  const config = ConfigSchema.parse({
    host: '127.0.0.1',
    port: 0,
    logLevel: 'silent',
    limits: { maxNewTokens: CEILING },
    images: { describe: false },
    models: [
      // No max_new_tokens in any model's params: nothing is sent upstream unless the turn asks.
      { id: 'tgi', kind: 'llm', backend: 'tgi', urls: [fleet.llmUrl], template: 'llama2-chat', params: {} },
      { id: 'openai', kind: 'llm', backend: 'openai', urls: [fleet.llmUrl], template: 'server', params: {} },
      {
        id: 'sagemaker',
        kind: 'llm',
        backend: 'sagemaker',
        template: 'llama2-chat',
        sagemaker: { endpointName: fleet.sagemakerEndpoints.llm, endpointUrl: fleet.sagemakerUrl, region: 'us-east-1' },
        params: {},
      },
      { id: 'fake-tgi', kind: 'llm', backend: 'tgi', urls: [fake.url], template: 'llama2-chat', params: {} },
      { id: 'fake-openai', kind: 'llm', backend: 'openai', urls: [fake.url], template: 'server', params: {} },
      { id: 'idefics-9b-instruct', kind: 'vlm', backend: 'tgi', urls: [fleet.vlmUrl], template: 'idefics' },
    ],
    defaultModel: 'tgi',
  });
  gw = new Gateway(config, pino({ level: 'silent' }), { defaultMetrics: false });
  url = `ws://127.0.0.1:${await gw.start()}/v1/ws`;
});

afterAll(async () => {
  await gw.shutdown(0);
  await Promise.all([fleet.close(), fake.close()]);
  vi.unstubAllEnvs();
});

async function waitUntil(cond: () => boolean, ms = 2000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

interface TurnResult {
  tokens: GenTokenMsg[];
  done: GenDoneMsg;
  metrics: TurnMetricsMsg;
  frames: ServerMessage[];
}

async function runTurn(c: RawClient, id: string, model: string, params: Record<string, number> = {}): Promise<TurnResult> {
  c.send({ t: 'turn.start', id, text: 'Tell me a very long story.', model, params });
  const done = await c.waitFor<GenDoneMsg | ErrorMsg>((m) => (m.t === 'gen.done' || m.t === 'error') && m.turn === id, 10_000);
  if (done.t !== 'gen.done') throw new Error(`turn ${id} failed: ${done.code} ${done.message}`);
  const metrics = await c.waitFor<TurnMetricsMsg>((m) => m.t === 'turn.metrics' && m.turn === id);
  const frames = c.framesOf(id);
  return { tokens: frames.filter((f): f is GenTokenMsg => f.t === 'gen.token'), done, metrics, frames };
}

/** Exactly `cap` tokens, contiguous, and a gen.done 'length' without text. */
function expectCapped(r: TurnResult, cap: number): void {
  let next = 0;
  for (const t of r.tokens) {
    expect(t.i).toBe(next);
    next += t.n;
  }
  expect(next).toBe(cap);
  expect(r.done).toMatchObject({ finish: 'length', tokens: cap });
  // The text is the gen.token frames' (the gateway does not keep it on the token path).
  expect(r.done.text).toBe('');
  expect(r.tokens.map((t) => t.text).join('').trim().length).toBeGreaterThan(0);
  expect(r.metrics.counts.tokens).toBe(cap);
  expect(r.frames.some((f) => f.t === 'error' || f.t === 'turn.cancelled')).toBe(false);
}

describe('answer cap: no max_new_tokens sent, the gateway ceiling applies', () => {
  it.each(['tgi', 'openai'] as const)('%s: exactly limits.maxNewTokens tokens, finish length, upstream closed early', async (model) => {
    const c = await RawClient.session(url);
    const mark = tgiCloses.length;
    const r = await runTurn(c, 'a', model);
    expectCapped(r, CEILING);
    await waitUntil(() => tgiCloses.length > mark);
    const closed = tgiCloses[mark] as RequestClosedEvent;
    expect(closed.completed).toBe(false);
    expect(closed.tokensSent).toBeLessThan(UPSTREAM_TOKENS);
    // The session goes on: the next turn is served.
    const again = await runTurn(c, 'b', model, { max_new_tokens: 5 });
    expect(again.done).toMatchObject({ finish: 'length', tokens: 5 });
    c.close();
  });

  it('sagemaker (response streaming): exactly limits.maxNewTokens tokens, finish length, both requests closed early', async () => {
    const c = await RawClient.session(url);
    const tgiMark = tgiCloses.length;
    const smMark = smCloses.length;
    const r = await runTurn(c, 's', 'sagemaker');
    expectCapped(r, CEILING);
    await waitUntil(() => smCloses.length > smMark && tgiCloses.length > tgiMark);
    expect((smCloses[smMark] as SageMakerRequestClosedEvent).completed).toBe(false);
    const container = tgiCloses[tgiMark] as RequestClosedEvent;
    expect(container.completed).toBe(false);
    expect(container.tokensSent).toBeLessThan(UPSTREAM_TOKENS);
    c.close();
  });

  it('an upstream that honours max_new_tokens ends with its own finish, text and count', async () => {
    const c = await RawClient.session(url);
    const mark = tgiCloses.length;
    const r = await runTurn(c, 'h', 'tgi', { max_new_tokens: 12 });
    expect(r.done).toMatchObject({ finish: 'length', tokens: 12 });
    expect(r.tokens.reduce((n, t) => n + t.n, 0)).toBe(12);
    await waitUntil(() => tgiCloses.length > mark);
    expect((tgiCloses[mark] as RequestClosedEvent).completed).toBe(true);
    c.close();
  });
});

describe('answer cap: an upstream that ignores the max_new_tokens it was sent', () => {
  it.each([
    ['fake-tgi', 'max_new_tokens'],
    ['fake-openai', 'max_tokens'],
  ] as const)('%s: 10 000 tokens streamed → the client gets max_new_tokens of them, finish length, connection closed', async (model, field) => {
    const c = await RawClient.session(url);
    const mark = fake.requests.length;
    const r = await runTurn(c, 'x', model, { max_new_tokens: 25 });
    expectCapped(r, 25);
    expect(r.tokens.map((t) => t.text).join('').trim()).toBe(Array.from({ length: 25 }, (_, i) => ` w${i}`).join('').trim());
    const req = fake.requests[mark] as FakeRequest;
    const sent = field === 'max_tokens' ? req.body.max_tokens : (req.body.parameters as Record<string, unknown>).max_new_tokens;
    expect(sent).toBe(25);
    await req.closed;
    expect(req.completed).toBe(false);
    expect(req.written).toBeLessThan(UPSTREAM_TOKENS);
    c.close();
  });

  it('a capped exchange stays out of the dialogue history: the next request carries only the new question', async () => {
    const c = await RawClient.session(url);
    expectCapped(await runTurn(c, 'p', 'fake-tgi', { max_new_tokens: 4 }), 4);
    const mark = fake.requests.length;
    const next = await runTurn(c, 'q', 'fake-tgi', { max_new_tokens: 3 });
    expectCapped(next, 3);
    const inputs = String((fake.requests[mark] as FakeRequest).body.inputs);
    expect(inputs.split('Tell me a very long story.')).toHaveLength(2); // the question once: no history
    expect(inputs).not.toContain(' w0');
    c.close();
  });

  it('fake-tgi without max_new_tokens: the ceiling applies (nothing is sent)', async () => {
    const c = await RawClient.session(url);
    const mark = fake.requests.length;
    const r = await runTurn(c, 'y', 'fake-tgi');
    expectCapped(r, CEILING);
    const req = fake.requests[mark] as FakeRequest;
    expect((req.body.parameters as Record<string, unknown>).max_new_tokens).toBeUndefined();
    await req.closed;
    expect(req.completed).toBe(false);
    c.close();
  });
});

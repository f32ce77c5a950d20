// The gateway's SageMaker adapter (real AWS SDK v3 client, SigV4 with fake static credentials)
// against this simulator on loopback, in front of the simulated TGI: streamed and whole answers
// through awkward PayloadPart cuts, every injected fault mapped to its code, and cancellation
// closing the request within 50 ms. (Lives in sim/: src/ may not import the simulator.)
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { VlpError } from '../../protocol/errors.ts';
import type { ErrorCode } from '../../protocol/errors.ts';
import type { GenEvent, TextGenBackend, TextGenRequest } from '../../src/backends/ports.ts';
import { createSageMakerBackend, type SageMakerBackendOptions } from '../../src/backends/sagemaker/index.ts';
import { startTgiSim, type TgiSim } from '../tgi/index.ts';
import { startFakeContainer, type FakeContainer } from './fake-container.testkit.ts';
import { startSageMakerSim, type SageMakerRequestClosedEvent, type SageMakerSim } from './index.ts';

const CREDENTIALS = { accessKeyId: 'AKIDSIMULATED', secretAccessKey: 'not-a-secret' };
const UTF8_TOKENS = [' Zürich', ' ist', ' schön', ' —', ' 東京', ' 🙂', ' naïve', ' café.'];

let tgi: TgiSim;
let sm: SageMakerSim;
let fake: FakeContainer;
const backends: TextGenBackend[] = [];

beforeAll(async () => {
  tgi = await startTgiSim({ ttftMs: 5, itlMs: 2, jitter: 0 });
  fake = await startFakeContainer(UTF8_TOKENS);
  sm = await startSageMakerSim({
    endpoints: { 'llama-sm': { tgiUrl: tgi.url }, 'utf8-sm': { tgiUrl: fake.url }, 'nostream-sm': { tgiUrl: tgi.url, streaming: false } },
  });
});
afterAll(async () => {
  await Promise.all(backends.map((b) => b.close()));
  await sm.close();
  await Promise.all([tgi.close(), fake.close()]);
});
beforeEach(async () => {
  await fetch(`${sm.url}/__sim/faults`, { method: 'DELETE' });
});

function backend(over: Partial<SageMakerBackendOptions> = {}): TextGenBackend {
  const b = createSageMakerBackend({
    endpointName: 'llama-sm', region: 'us-east-1', endpointUrl: sm.url, credentials: CREDENTIALS, streaming: true,
    template: 'llama2-chat', vision: false, firstTokenTimeoutMs: 2000, interTokenTimeoutMs: 2000, ...over,
  });
  backends.push(b);
  return b;
}

function request(text = 'What is the capital of France?', over: Partial<TextGenRequest> = {}): TextGenRequest {
  return {
    messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: text }],
    params: { max_new_tokens: 30 },
    signal: new AbortController().signal,
    ...over,
  };
}

async function collect(it: AsyncIterable<GenEvent>): Promise<{ events: GenEvent[]; error: unknown }> {
  const events: GenEvent[] = [];
  try {
    for await (const ev of it) events.push(ev);
    return { events, error: undefined };
  } catch (error) {
    return { events, error };
  }
}

function expectCode(error: unknown, code: ErrorCode): VlpError {
  expect(error).toBeInstanceOf(VlpError);
  expect((error as VlpError).code).toBe(code);
  return error as VlpError;
}

function tokenText(events: GenEvent[]): string {
  return events.map((e) => (e.kind === 'token' && !e.special ? e.text : '')).join('');
}

describe('streamed generation (InvokeEndpointWithResponseStream)', () => {
  it('reassembles TGI SSE from awkwardly cut PayloadParts: tokens concatenate to the final text', async () => {
    const before = sm.stats();
    const seen = once(sm.events, 'request');
    const { events, error } = await collect(backend().generate(request()));
    expect(error).toBeUndefined();
    const done = events.at(-1);
    expect(done?.kind).toBe('done');
    if (done?.kind !== 'done') return;
    expect(done.generatedText).toMatch(/France/);
    expect(tokenText(events)).toBe(done.generatedText);
    expect(done.tokens).toBe(events.filter((e) => e.kind === 'token').length);
    const after = sm.stats();
    expect(after.splitInsideDataPrefix).toBeGreaterThan(before.splitInsideDataPrefix);
    expect(after.splitInsideJson).toBeGreaterThan(before.splitInsideJson);
    expect(after.payloadParts - before.payloadParts).toBeGreaterThan(2 * events.length);
    const [req] = (await seen) as [{ signed: boolean; stream: boolean | null; contentType: string | undefined }];
    expect(req).toMatchObject({ signed: true, stream: true, contentType: 'application/json' });
  });

  it('keeps multi-byte characters whole when a part ends inside one', async () => {
    const before = sm.stats().splitInsideUtf8;
    const { events, error } = await collect(backend({ endpointName: 'utf8-sm' }).generate(request('Tell me about Zürich')));
    expect(error).toBeUndefined();
    expect(sm.stats().splitInsideUtf8).toBeGreaterThan(before);
    expect(events.filter((e) => e.kind === 'token' && !e.special).map((e) => (e.kind === 'token' ? e.text : ''))).toEqual(UTF8_TOKENS);
    expect(events.at(-1)).toEqual({ kind: 'done', finish: 'eos_token', generatedText: UTF8_TOKENS.join(''), tokens: UTF8_TOKENS.length + 1 });
  });

  it('sends TargetVariant and InferenceComponentName as SageMaker headers', async () => {
    const seen = once(sm.events, 'request');
    const { error } = await collect(backend({ targetVariant: 'AllTraffic', inferenceComponent: 'ic-llama' }).generate(request()));
    expect(error).toBeUndefined();
    expect((await seen)[0]).toMatchObject({ targetVariant: 'AllTraffic', inferenceComponent: 'ic-llama' });
  });

  it('probe() is a local check that region and credentials resolve', async () => {
    expect(await backend().probe(1000)).toBe(true);
  });
});

describe('whole answers (InvokeEndpoint)', () => {
  it('yields one token with the whole text, then done', async () => {
    const seen = once(sm.events, 'request');
    const { events, error } = await collect(backend({ streaming: false }).generate(request()));
    expect(error).toBeUndefined();
    expect(events).toHaveLength(2);
    const [token, done] = events;
    expect(done).toMatchObject({ kind: 'done', finish: expect.stringMatching(/eos_token|length/) as string });
    if (token?.kind !== 'token' || done?.kind !== 'done') return;
    expect(token.text).toBe(done.generatedText);
    expect(done.generatedText).toMatch(/France/);
    expect(done.generatedText).not.toContain('[INST]'); // return_full_text: false was sent
    expect((await seen)[0]).toMatchObject({ route: 'invocations', stream: false });
  });

  it('works on an endpoint without streaming support', async () => {
    const { events, error } = await collect(backend({ streaming: false, endpointName: 'nostream-sm' }).generate(request()));
    expect(error).toBeUndefined();
    expect(events.at(-1)?.kind).toBe('done');
  });
});

describe('faults map to stable codes', () => {
  const cases: [string, ErrorCode, number][] = [
    ['model_stream_error', 'UPSTREAM_RESET', 2],
    ['internal_stream_failure', 'UPSTREAM_GENERATION_FAILED', 2],
    ['model_invocation_time_exceeded', 'UPSTREAM_TIMEOUT', 2],
    ['error_mid_stream', 'UPSTREAM_GENERATION_FAILED', 2], // TGI's in-band error, through SageMaker
    ['malformed', 'UPSTREAM_PROTOCOL', 2], // TGI sends `data: {not json`
    ['validation', 'UPSTREAM_REJECTED', 0], // TGI's in-band validation error
    ['overloaded_429', 'UPSTREAM_OVERLOADED', 0], // container HTTP 429 → ModelError
    ['reset', 'UPSTREAM_RESET', 2], // container socket destroyed → ModelStreamError StreamBroken
    ['throttling', 'UPSTREAM_OVERLOADED', 0],
    ['model_not_ready', 'UPSTREAM_OVERLOADED', 0],
    ['service_unavailable', 'UPSTREAM_OVERLOADED', 0],
    ['internal_failure', 'UPSTREAM_GENERATION_FAILED', 0],
  ];
  for (const [kind, code, tokens] of cases) {
    it(`[[sim:fault=${kind}]] → ${code}`, async () => {
      const after = tokens === 0 ? '' : `;after=${tokens}`;
      const { events, error } = await collect(backend().generate(request(`Tell me about Paris [[sim:fault=${kind}${after}]]`)));
      expectCode(error, code);
      expect(events.filter((e) => e.kind === 'token')).toHaveLength(tokens);
    });
  }

  it('a ModelStreamError as the first event is thrown by send() and mapped the same way', async () => {
    await fetch(`${sm.url}/__sim/faults`, { method: 'POST', body: JSON.stringify({ kind: 'model_invocation_time_exceeded', afterEvents: 0 }) });
    const { events, error } = await collect(backend().generate(request()));
    expectCode(error, 'UPSTREAM_TIMEOUT');
    expect(events).toHaveLength(0);
  });

  it('unknown endpoint → ValidationError → UPSTREAM_REJECTED (account id masked)', async () => {
    const { error } = await collect(backend({ endpointName: 'no-such-endpoint' }).generate(request()));
    const e = expectCode(error, 'UPSTREAM_REJECTED');
    expect(e.message).toMatch(/^SageMaker ValidationError: Endpoint no-such-endpoint of account <account> not found\. \(HTTP 400, request id [\w-]+\)$/);
    expect(e.cause).toBeUndefined();
  });

  it('unknown target variant → UPSTREAM_REJECTED', async () => {
    const { error } = await collect(backend({ targetVariant: 'Canary' }).generate(request()));
    expectCode(error, 'UPSTREAM_REJECTED');
  });

  it('a stall after tokens → UPSTREAM_TIMEOUT, and the request is closed', async () => {
    const closed = once(sm.events, 'request-closed');
    const started = performance.now();
    const { events, error } = await collect(backend({ interTokenTimeoutMs: 150 }).generate(request('Tell me about Paris [[sim:fault=stall;after=2]]')));
    expectCode(error, 'UPSTREAM_TIMEOUT');
    expect((error as VlpError).message).toContain('inter-token');
    expect(events).toHaveLength(2);
    expect(performance.now() - started).toBeLessThan(1500);
    expect(((await closed)[0] as SageMakerRequestClosedEvent).completed).toBe(false);
  });

  it('no first event within the deadline → UPSTREAM_TIMEOUT (first-token)', async () => {
    const { error } = await collect(backend({ firstTokenTimeoutMs: 150 }).generate(request('Tell me about Paris [[sim:fault=stall;after=0]]')));
    expect(expectCode(error, 'UPSTREAM_TIMEOUT').message).toContain('first-token');
  });

  it('nothing listening → UPSTREAM_UNAVAILABLE', async () => {
    const { error } = await collect(backend({ endpointUrl: 'http://127.0.0.1:1' }).generate(request()));
    expectCode(error, 'UPSTREAM_UNAVAILABLE');
  });
});

describe('cancellation closes the HTTP request', () => {
  async function cancelAfterTokens(stop: (ac: AbortController) => 'abort' | 'break'): Promise<void> {
    const ac = new AbortController();
    const smClosed = once(sm.events, 'request-closed');
    const tgiClosed = once(tgi.events, 'request-closed');
    let stoppedAt = 0;
    let n = 0;
    try {
      for await (const ev of backend().generate(request('Tell me a long story about Paris', { signal: ac.signal, params: { max_new_tokens: 200 } }))) {
        if (ev.kind === 'token' && ++n === 3) {
          stoppedAt = performance.now();
          if (stop(ac) === 'break') break;
        }
      }
    } catch (err) {
      expect((err as Error).name).toBe('AbortError');
    }
    const [smEv] = (await smClosed) as [SageMakerRequestClosedEvent];
    expect(smEv.completed).toBe(false);
    expect(smEv.atMs - stoppedAt).toBeLessThan(50);
    const [tgiEv] = (await tgiClosed) as [{ atMs: number; completed: boolean }];
    expect(tgiEv.completed).toBe(false);
    expect(tgiEv.atMs - stoppedAt).toBeLessThan(100);
  }

  it('aborting the signal', async () => {
    await cancelAfterTokens((ac) => {
      ac.abort();
      return 'abort';
    });
  });

  it('breaking out of the loop', async () => {
    await cancelAfterTokens(() => 'break');
  });

  it('an already-aborted signal never calls SageMaker', async () => {
    const ac = new AbortController();
    ac.abort();
    const { error } = await collect(backend().generate(request('x', { signal: ac.signal })));
    expect((error as Error).name).toBe('AbortError');
  });
});

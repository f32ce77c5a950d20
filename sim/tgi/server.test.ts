// Integration tests of the simulated TGI over real sockets: SSE bytes in both framings, final event
// shape, non-stream status codes and headers, compat route, info/health/metrics, axum rejections,
// overload, keep-alive, tracing, and request-closed timing on client abort.
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTgiSim, type TgiSim } from './index.ts';
import { dataPayloads, events, get, post, readStreamUntil } from './test-client.ts';
import type { RequestClosedEvent, RequestEvent, TokenEmittedEvent } from './types.ts';

const LLAMA = '[INST] What is the capital of France? [/INST]';
const FAST = { ttftMs: 5, itlMs: 1, jitter: 0 } as const;

let sim: TgiSim;
beforeAll(async () => {
  sim = await startTgiSim(FAST);
});
afterAll(async () => {
  await sim.close();
});

describe('POST /generate_stream', () => {
  it('frames every event as `data: {json}\\n\\n` with TGI headers and explicit nulls', async () => {
    const res = await post(sim.url, '/generate_stream', { inputs: LLAMA, parameters: { max_new_tokens: 3, seed: 7, do_sample: true } });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/event-stream');
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.headers['x-accel-buffering']).toBe('no');
    expect(res.headers['x-compute-type']).toBe('gpu+optimized');
    expect(res.headers['x-compute-characters']).toBe(String(LLAMA.length));
    expect(res.headers['x-total-time']).toBeUndefined();
    const frames = res.text.split('\n\n');
    expect(frames.pop()).toBe('');
    expect(frames).toHaveLength(3);
    const tok = '\\{"id":\\d+,"text":"[^"]*","logprob":-\\d+\\.\\d+,"special":false\\}';
    frames.slice(0, 2).forEach((f, i) => {
      expect(f).toMatch(new RegExp(`^data: \\{"index":${i + 1},"token":${tok},"generated_text":null,"details":null\\}$`));
    });
    expect(frames[2]).toMatch(new RegExp(`^data: \\{"index":3,"token":${tok},"generated_text":"[^"]+","details":null\\}$`));
    // Re-serialising the parsed events gives back the same bytes (field order, no extra whitespace).
    expect(dataPayloads(res.text).map((d) => `data: ${JSON.stringify(JSON.parse(d))}\n\n`).join('')).toBe(res.text);
    const ev = events(res.text);
    expect(ev[2]?.generated_text).toBe(ev.map((e) => e.token?.text).join(''));
  });

  it('uses `data:{json}` framing when legacyFraming is on', async () => {
    const legacy = await startTgiSim({ ...FAST, legacyFraming: true });
    try {
      const res = await post(legacy.url, '/generate_stream', { inputs: 'Hi', parameters: { max_new_tokens: 2 } });
      const frames = res.text.split('\n\n');
      expect(frames).toEqual([expect.stringMatching(/^data:\{"index":1,"token":/), expect.stringMatching(/^data:\{"index":2,/), '']);
      const err = await post(legacy.url, '/generate_stream', { inputs: 'Hi', parameters: { top_k: 0 } });
      expect(err.text).toBe('data:{"error":"Input validation error: `top_k` must be strictly positive","error_type":"validation"}\n\n');
    } finally {
      await legacy.close();
    }
  });

  it('ends with details {finish_reason, generated_tokens, seed, input_length} and </s>', async () => {
    const res = await post(sim.url, '/generate_stream', { inputs: LLAMA, parameters: { details: true, seed: 99, temperature: 0.7 } });
    const ev = events(res.text);
    const last = ev.at(-1);
    expect(last?.token).toMatchObject({ id: 2, text: '</s>', special: true });
    expect(last?.details).toEqual({ finish_reason: 'eos_token', generated_tokens: ev.length, seed: 99, input_length: expect.any(Number) as number });
    expect(res.text).toContain(',"details":{"finish_reason":"eos_token","generated_tokens":');
    ev.slice(0, -1).forEach((e, i) => {
      expect(e.index).toBe(i + 1);
      expect(e.details).toBeNull();
      expect(e.generated_text).toBeNull();
      expect(e).not.toHaveProperty('top_tokens');
    });
    expect(last?.generated_text).toContain('France');
  });

  it('reports seed null for greedy decoding and a random u64 seed when sampling without one', async () => {
    const greedy = events((await post(sim.url, '/generate_stream', { inputs: 'Hi', parameters: { details: true } })).text);
    expect(greedy.at(-1)?.details?.seed).toBeNull();
    const sampled = (await post(sim.url, '/generate_stream', { inputs: 'Hi', parameters: { details: true, do_sample: true } })).text;
    expect(sampled).toMatch(/"seed":\d+,"input_length"/);
  });

  it('is deterministic for a seed', async () => {
    const body = { inputs: LLAMA, parameters: { seed: 1234, do_sample: true, details: true } };
    const a = await post(sim.url, '/generate_stream', body);
    const b = await post(sim.url, '/generate_stream', body);
    expect(b.text).toBe(a.text);
    const c = await post(sim.url, '/generate_stream', { ...body, parameters: { ...body.parameters, seed: 4321 } });
    expect(c.text).not.toBe(a.text);
  });

  it('honours stop sequences and max_new_tokens', async () => {
    const base = events((await post(sim.url, '/generate_stream', { inputs: LLAMA, parameters: { seed: 5, do_sample: true } })).text);
    const stop = base[2]?.token?.text ?? '';
    const stopped = events(
      (await post(sim.url, '/generate_stream', { inputs: LLAMA, parameters: { seed: 5, do_sample: true, stop: [stop], details: true } })).text,
    );
    expect(stopped).toHaveLength(3);
    expect(stopped.at(-1)?.details?.finish_reason).toBe('stop_sequence');
    expect(stopped.at(-1)?.generated_text?.endsWith(stop)).toBe(true);
    const capped = events((await post(sim.url, '/generate_stream', { inputs: LLAMA, parameters: { max_new_tokens: 4, details: true } })).text);
    expect(capped).toHaveLength(4);
    expect(capped.at(-1)?.details).toMatchObject({ finish_reason: 'length', generated_tokens: 4 });
  });

  it('adds top_tokens when top_n_tokens > 0', async () => {
    const ev = events((await post(sim.url, '/generate_stream', { inputs: 'Hi', parameters: { max_new_tokens: 2, top_n_tokens: 2 } })).text);
    expect(ev[0]?.top_tokens).toHaveLength(2);
  });

  it('sends validation errors in-band with HTTP 200', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ temperature: 0 }, '`temperature` must be strictly positive'],
      [{ top_p: 1.0 }, '`top_p` must be > 0.0 and < 1.0'],
      [{ typical_p: 0 }, '`typical_p` must be > 0.0 and < 1.0'],
      [{ top_k: -1 }, '`top_k` must be strictly positive'],
      [{ repetition_penalty: 0 }, '`repetition_penalty` must be strictly positive'],
      [{ max_new_tokens: 0 }, '`max_new_tokens` must be strictly positive'],
      [{ max_new_tokens: 4096 }, '`inputs` tokens + `max_new_tokens` must be <= 4096. Given: 15 `inputs` tokens and 4096 `max_new_tokens`'],
      [{ stop: ['a', 'b', 'c', 'd', 'e'] }, '`stop` supports up to 4 stop sequences. Given: 5'],
      [{ best_of: 2 }, '`best_of` != 1 is not supported when streaming tokens'],
      [{ decoder_input_details: true }, '`decoder_input_details` == true is not supported when streaming tokens'],
    ];
    for (const [parameters, message] of cases) {
      const res = await post(sim.url, '/generate_stream', { inputs: LLAMA, parameters });
      expect(res.status).toBe(200);
      expect(res.text).toBe(`data: {"error":"Input validation error: ${message}","error_type":"validation"}\n\n`);
    }
    const empty = await post(sim.url, '/generate_stream', { inputs: '' });
    expect(empty.text).toBe('data: {"error":"Input validation error: `inputs` cannot be empty","error_type":"validation"}\n\n');
  });
});

describe('POST /generate', () => {
  it('returns GenerateResponse with details and timing headers', async () => {
    const res = await post(sim.url, '/generate', { inputs: LLAMA, parameters: { max_new_tokens: 5, details: true } });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    for (const h of ['x-compute-time', 'x-total-time', 'x-validation-time', 'x-queue-time', 'x-inference-time', 'x-time-per-token']) {
      expect(res.headers[h]).toMatch(/^\d+(\.\d+)?$/);
    }
    expect(res.headers['x-generated-tokens']).toBe('5');
    expect(res.headers['x-prompt-tokens']).toMatch(/^\d+$/);
    expect(res.headers['x-compute-characters']).toBe(String(LLAMA.length));
    const body = JSON.parse(res.text) as { generated_text: string; details: Record<string, unknown> };
    expect(Object.keys(body)).toEqual(['generated_text', 'details']);
    expect(Object.keys(body.details)).toEqual(['finish_reason', 'generated_tokens', 'seed', 'prefill', 'tokens']);
    expect(body.details).toMatchObject({ finish_reason: 'length', generated_tokens: 5, seed: null, prefill: [] });
  });

  it('omits details unless asked, and returns prefill with decoder_input_details', async () => {
    const plain = await post(sim.url, '/generate', { inputs: 'Hi there', parameters: { max_new_tokens: 2 } });
    expect(Object.keys(JSON.parse(plain.text) as object)).toEqual(['generated_text']);
    const pre = JSON.parse((await post(sim.url, '/generate', { inputs: 'Hi there', parameters: { max_new_tokens: 2, decoder_input_details: true } })).text) as {
      details: { prefill: { id: number; text: string; logprob: number | null }[] };
    };
    expect(pre.details.prefill[0]).toEqual({ id: 1, text: '<s>', logprob: null });
    expect(pre.details.prefill.length).toBe(3);
  });

  it('maps errors to TGI status codes', async () => {
    const v = await post(sim.url, '/generate', { inputs: 'Hi', parameters: { temperature: -1 } });
    expect(v.status).toBe(422);
    expect(v.text).toBe('{"error":"Input validation error: `temperature` must be strictly positive","error_type":"validation"}');
    const b = await post(sim.url, '/generate', { inputs: 'Hi', parameters: { best_of: 3, do_sample: true } });
    expect(b.status).toBe(422);
    expect(b.text).toContain('`best_of` must be > 0 and <= 2. Given: 3');
  });

  it('fans out best_of and returns best_of_sequences', async () => {
    const res = await post(sim.url, '/generate', { inputs: 'Hi', parameters: { best_of: 2, do_sample: true, details: true, max_new_tokens: 3 } });
    const body = JSON.parse(res.text) as { details: { best_of_sequences: unknown[]; seed: number } };
    expect(body.details.best_of_sequences).toHaveLength(1);
    expect(typeof body.details.seed).toBe('number');
  });
});

describe('POST / (compat)', () => {
  it('wraps non-stream responses in an array and defaults return_full_text to true', async () => {
    const res = await post(sim.url, '/', { inputs: 'Hello there.', parameters: { max_new_tokens: 3 } });
    expect(res.status).toBe(200);
    const arr = JSON.parse(res.text) as { generated_text: string }[];
    expect(arr).toHaveLength(1);
    expect(arr[0]?.generated_text.startsWith('Hello there. ')).toBe(true);
    const off = JSON.parse((await post(sim.url, '/', { inputs: 'Hello there.', parameters: { max_new_tokens: 3, return_full_text: false } })).text) as {
      generated_text: string;
    }[];
    expect(off[0]?.generated_text.startsWith('Hello')).toBe(false);
    const plain = JSON.parse((await post(sim.url, '/generate', { inputs: 'Hello there.', parameters: { max_new_tokens: 3 } })).text) as {
      generated_text: string;
    };
    expect(plain.generated_text).toBe(off[0]?.generated_text);
  });

  it('streams like /generate_stream when stream is true (full text only in the final event)', async () => {
    const res = await post(sim.url, '/', { inputs: 'Hello there.', stream: true, parameters: { max_new_tokens: 3 } });
    expect(res.headers['content-type']).toBe('text/event-stream');
    const ev = events(res.text);
    expect(ev).toHaveLength(3);
    expect(ev[2]?.generated_text?.startsWith('Hello there. ')).toBe(true);
    expect(ev[0]?.token?.text.startsWith('Hello')).toBe(false);
  });

  it('returns false for return_full_text when the pipeline tag is not text-generation', async () => {
    const other = await startTgiSim({ ...FAST, pipelineTag: 'image-text-to-text' });
    try {
      const arr = JSON.parse((await post(other.url, '/', { inputs: 'Hello there.', parameters: { max_new_tokens: 2 } })).text) as { generated_text: string }[];
      expect(arr[0]?.generated_text.startsWith('Hello there.')).toBe(false);
    } finally {
      await other.close();
    }
  });
});

describe('GET routes', () => {
  it('serves /info in TGI field order', async () => {
    const res = await get(sim.url, '/info');
    const info = JSON.parse(res.text) as Record<string, unknown>;
    expect(Object.keys(info)).toEqual([
      'model_id', 'model_sha', 'model_pipeline_tag', 'max_concurrent_requests', 'max_best_of', 'max_stop_sequences',
      'max_input_tokens', 'max_total_tokens', 'validation_workers', 'max_client_batch_size', 'router', 'version', 'sha', 'docker_label',
    ]);
    expect(info).toMatchObject({ model_id: 'meta-llama/Llama-2-7b-chat-hf', max_input_tokens: 4095, max_total_tokens: 4096, version: '3.3.7', max_concurrent_requests: 128 });
  });

  it('answers /health, /ping and GET / with 200 and an empty body', async () => {
    for (const path of ['/health', '/ping', '/']) {
      const res = await get(sim.url, path);
      expect(res.status).toBe(200);
      expect(res.text).toBe('');
    }
    expect((await get(sim.url, '/nope')).status).toBe(404);
    expect((await get(sim.url, '/generate')).status).toBe(405);
  });

  it('exposes Prometheus metrics with TGI names', async () => {
    const res = await get(sim.url, '/metrics');
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
    for (const name of [
      'tgi_request_count', 'tgi_request_success', 'tgi_request_failure{err="validation"}', 'tgi_queue_size', 'tgi_batch_current_size',
      'tgi_request_duration_bucket', 'tgi_request_generated_tokens_bucket', 'tgi_request_mean_time_per_token_duration_bucket',
      'tgi_request_input_length', 'tgi_request_max_new_tokens',
    ]) {
      expect(res.text).toContain(name);
    }
  });
});

describe('axum rejections (plain text)', () => {
  it('413 for a body over 2,000,000 bytes', async () => {
    const big = JSON.stringify({ inputs: 'x'.repeat(2_000_000) });
    const res = await post(sim.url, '/generate', big);
    expect(res.status).toBe(413);
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(res.text).toBe('Failed to buffer the request body: length limit exceeded');
    const ok = await post(sim.url, '/generate', JSON.stringify({ inputs: 'x'.repeat(1_999_000) }));
    expect(ok.status).toBe(422);
  });

  it('415 without a JSON content type', async () => {
    const res = await post(sim.url, '/generate', '{"inputs":"hi"}', { 'content-type': 'text/plain' });
    expect(res.status).toBe(415);
    expect(res.text).toBe('Expected request with `Content-Type: application/json`');
    const charset = await post(sim.url, '/generate', { inputs: 'hi', parameters: { max_new_tokens: 1 } }, { 'content-type': 'application/json; charset=utf-8' });
    expect(charset.status).toBe(200);
  });

  it('400 for bad JSON and 422 for a missing inputs field', async () => {
    const bad = await post(sim.url, '/generate_stream', '{"inputs": "hi",');
    expect(bad.status).toBe(400);
    expect(bad.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(bad.text).toBe('Failed to parse the request body as JSON: EOF while parsing a value at line 1 column 16');
    const missing = await post(sim.url, '/generate_stream', { parameters: {} });
    expect(missing.status).toBe(422);
    expect(missing.text).toBe('Failed to deserialize the JSON body into the target type: missing field `inputs` at line 1 column 17');
  });
});

describe('concurrency, keep-alive, events', () => {
  it('reports overload in-band on streams and as 429 on /generate', async () => {
    const small = await startTgiSim({ ...FAST, maxConcurrent: 1, ttftMs: 2000 });
    try {
      const holder = post(small.url, '/generate', { inputs: 'Hi', parameters: { max_new_tokens: 1 } });
      await new Promise((r) => setTimeout(r, 50));
      expect(small.inFlight()).toBe(1);
      const s = await post(small.url, '/generate_stream', { inputs: 'Hi' });
      expect(s.status).toBe(200);
      expect(s.text).toBe('data: {"error":"Model is overloaded","error_type":"overloaded"}\n\n');
      const u = await post(small.url, '/generate', { inputs: 'Hi' });
      expect(u.status).toBe(429);
      expect(u.text).toBe('{"error":"Model is overloaded","error_type":"overloaded"}');
      await small.close();
      await holder.catch(() => undefined);
    } finally {
      await small.close();
    }
  });

  it('sends `:\\n\\n` keep-alive comments when idle', async () => {
    const ka = await startTgiSim({ ...FAST, keepAliveMs: 40 });
    try {
      const r = await readStreamUntil(ka.url, { inputs: '[INST] hi [[sim:fault=stall;after=1]] [/INST]' }, (t) => t.includes(':\n\n:\n\n'));
      expect(r.aborted).toBe(true);
      expect(r.text).toMatch(/^data: \{"index":1,[^\n]*\}\n\n:\n\n:\n\n$/);
    } finally {
      await ka.close();
    }
  });

  it('emits request and request-closed within 50 ms of a client abort', async () => {
    const slow = await startTgiSim({ ttftMs: 5, itlMs: 20, jitter: 0 });
    try {
      const requests: RequestEvent[] = [];
      slow.events.on('request', (e) => requests.push(e));
      const closed = once(slow.events, 'request-closed') as Promise<[RequestClosedEvent]>;
      const r = await readStreamUntil(slow.url, { inputs: LLAMA, parameters: { seed: 3, max_new_tokens: 50 } }, (t) => t.includes('"index":2,'));
      const [ev] = await closed;
      expect(ev.completed).toBe(false);
      expect(ev.tokensSent).toBeGreaterThanOrEqual(2);
      expect(ev.tokensSent).toBeLessThan(5);
      expect(ev.atMs - r.abortedAt).toBeLessThan(50);
      expect(requests[0]).toMatchObject({ id: ev.id, route: '/generate_stream', stream: true, inputsLength: LLAMA.length, seed: 3 });
      expect(requests[0]?.params.max_new_tokens).toBe(50);
      await new Promise((res) => setTimeout(res, 10));
      expect(slow.inFlight()).toBe(0);
    } finally {
      await slow.close();
    }
  });

  it('emits request-closed with completed=true after a full stream', async () => {
    const closed = once(sim.events, 'request-closed') as Promise<[RequestClosedEvent]>;
    const res = await post(sim.url, '/generate_stream', { inputs: 'Hi', parameters: { max_new_tokens: 3 } });
    const [ev] = await closed;
    expect(ev).toMatchObject({ completed: true, tokensSent: 3, route: '/generate_stream' });
    expect(events(res.text)).toHaveLength(3);
  });

  it('emits token-emitted only when traceEmits is on', async () => {
    const seen: TokenEmittedEvent[] = [];
    sim.events.on('token-emitted', (e) => seen.push(e));
    await post(sim.url, '/generate_stream', { inputs: 'Hi', parameters: { max_new_tokens: 2 } });
    expect(seen).toHaveLength(0);
    const traced = await startTgiSim({ ...FAST, traceEmits: true });
    try {
      const got: TokenEmittedEvent[] = [];
      traced.events.on('token-emitted', (e) => got.push(e));
      const before = performance.timeOrigin + performance.now();
      await post(traced.url, '/generate_stream', { inputs: 'Hi', parameters: { max_new_tokens: 3, seed: 11 } });
      expect(got.map((e) => [e.seed, e.index])).toEqual([[11, 1], [11, 2], [11, 3]]);
      expect(got[0]?.atMs).toBeGreaterThan(before);
    } finally {
      await traced.close();
    }
  });

  it('paces tokens by the latency model', async () => {
    const paced = await startTgiSim({ ttftMs: 60, itlMs: 15, jitter: 0, perInputTokenMs: 0, loadFactor: 0, traceEmits: true });
    try {
      const got: TokenEmittedEvent[] = [];
      paced.events.on('token-emitted', (e) => got.push(e));
      const t0 = performance.timeOrigin + performance.now();
      await post(paced.url, '/generate_stream', { inputs: 'Hi', parameters: { max_new_tokens: 6 } });
      const first = (got[0]?.atMs ?? 0) - t0;
      expect(first).toBeGreaterThanOrEqual(55);
      expect(first).toBeLessThan(150);
      const gaps = got.slice(1).map((e, i) => e.atMs - (got[i]?.atMs ?? 0));
      const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
      expect(mean).toBeGreaterThanOrEqual(13);
      expect(mean).toBeLessThan(40);
    } finally {
      await paced.close();
    }
  });
});

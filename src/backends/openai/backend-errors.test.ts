// OpenAI-compatible adapter failure paths against scripted servers: error chunks of each server
// family before and after tokens, HTTP statuses, resets, protocol faults, timeouts.
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import type { ErrorCode } from '../../../protocol/errors.ts';
import { closedPort, sleep, sseHead } from '../tgi/fake-tgi.testkit.ts';
import { chunk, sse, usageChunk } from './fake-openai.testkit.ts';
import { backendFor, collect, expectVlp, request, setup } from './setup.testkit.ts';

const TWO = [chunk(' The'), chunk(' capital')];

/** TGI v3.3.7's mid-stream error: always http_status_code 422, then [DONE]. */
const tgiError = (message: string): object => ({ error: { message, http_status_code: 422 } });

describe('OpenAI adapter: error chunks', () => {
  it.each([
    ['TGI validation before any token', [], tgiError('Input validation error: `top_p` must be > 0.0 and < 1.0'), 'UPSTREAM_REJECTED'],
    ['TGI overloaded before any token', [], tgiError('Model is overloaded'), 'UPSTREAM_OVERLOADED'],
    ['TGI generation failure before any token', [], tgiError('Request failed during generation: Server error: CUDA out of memory'), 'UPSTREAM_GENERATION_FAILED'],
    ['TGI error after tokens', TWO, tgiError('Request failed during generation: Server error: CUDA out of memory'), 'UPSTREAM_GENERATION_FAILED'],
    ['TGI 422 of another kind after tokens', TWO, tgiError('Incomplete generation stream'), 'UPSTREAM_GENERATION_FAILED'],
    ['TGI ≤ 2.0 native error event after tokens', TWO, { error: 'Request failed during generation: boom', error_type: 'generation' }, 'UPSTREAM_GENERATION_FAILED'],
    ['TGI ≤ 2.0 native validation event', [], { error: 'Input validation error: x', error_type: 'validation' }, 'UPSTREAM_REJECTED'],
    ['vLLM BadRequest', [], { error: { object: 'error', message: 'max_tokens too large', type: 'BadRequestError', param: null, code: 400 } }, 'UPSTREAM_REJECTED'],
    ['vLLM internal error', [], { error: { message: 'engine dead', type: 'InternalServerError', code: 500 } }, 'UPSTREAM_GENERATION_FAILED'],
    ['vLLM < 0.6 top-level error object', [], { object: 'error', message: 'bad', type: 'BadRequestError', code: 400 }, 'UPSTREAM_REJECTED'],
    ['OpenAI rate limit', [], { error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' } }, 'UPSTREAM_OVERLOADED'],
  ] as const)('%s → %s', async (_name, before, errorEvent, code: ErrorCode) => {
    const { backend } = await setup((_req, res) => {
      sseHead(res);
      res.end(sse([...before, errorEvent, '[DONE]']));
    });
    const { events, error } = await collect(backend.generate(request()));
    expect(events).toHaveLength(before.length);
    const e = expectVlp(error, code);
    expect(e.message).not.toContain('Capital of France');
  });

  it('cuts long upstream text to 200 characters', async () => {
    const { backend } = await setup((_req, res) => {
      sseHead(res);
      res.end(sse([tgiError(`Request failed during generation: ${'x'.repeat(500)}`), '[DONE]']));
    });
    const e = expectVlp((await collect(backend.generate(request()))).error, 'UPSTREAM_GENERATION_FAILED');
    expect(e.message).toContain('Request failed during generation');
    expect(e.message.length).toBeLessThan(260);
  });

  it('reads llama.cpp `error:` field lines', async () => {
    const { backend } = await setup((_req, res) => {
      sseHead(res);
      res.end(Buffer.concat([sse(TWO), Buffer.from('error: {"code":500,"message":"slot unavailable","type":"server_error"}\n\n')]));
    });
    const { events, error } = await collect(backend.generate(request()));
    expect(events).toHaveLength(2);
    expect(expectVlp(error, 'UPSTREAM_GENERATION_FAILED').message).toContain('slot unavailable');
  });
});

describe('OpenAI adapter: HTTP statuses', () => {
  it('429 → UPSTREAM_OVERLOADED with Retry-After seconds', async () => {
    const { backend } = await setup((_req, res) => {
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '7' });
      res.end(JSON.stringify({ error: 'Model is overloaded', error_type: 'overloaded' }));
    });
    const e = expectVlp((await collect(backend.generate(request()))).error, 'UPSTREAM_OVERLOADED');
    expect(e.retryAfterS).toBe(7);
    expect(e.message).toContain('Model is overloaded');
  });

  it('503 → UPSTREAM_OVERLOADED (Retry-After as an HTTP date)', async () => {
    const { backend } = await setup((_req, res) => {
      res.writeHead(503, { 'retry-after': new Date(Date.now() + 30_000).toUTCString() });
      res.end('unavailable');
    });
    const e = expectVlp((await collect(backend.generate(request()))).error, 'UPSTREAM_OVERLOADED');
    expect(e.retryAfterS).toBeGreaterThanOrEqual(28);
    expect(e.retryAfterS).toBeLessThanOrEqual(31);
  });

  it('422 template error (JSON) → UPSTREAM_REJECTED with its message; plain text is withheld', async () => {
    const { backend } = await setup((_req, res) => {
      res.writeHead(422, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'Template error: syntax error: Conversation roles must alternate', error_type: 'template_error' }));
    });
    const e = expectVlp((await collect(backend.generate(request()))).error, 'UPSTREAM_REJECTED');
    expect(e.message).toContain('Conversation roles must alternate');
    const plain = await setup((_req, res) => {
      res.writeHead(422, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('Failed to deserialize the JSON body into the target type: messages[0]: "Capital of France?"');
    });
    const p = expectVlp((await collect(plain.backend.generate(request()))).error, 'UPSTREAM_REJECTED');
    expect(p.message).toBe('OpenAI-compatible server answered HTTP 422');
  });

  it('withholds pydantic validation text that quotes the request', async () => {
    const { backend } = await setup((_req, res) => {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'error', message: "[{'type': 'missing', 'loc': ('body',), 'input': {'content': 'Capital of France?'}}]", type: 'BadRequestError', code: 400 }));
    });
    const e = expectVlp((await collect(backend.generate(request()))).error, 'UPSTREAM_REJECTED');
    expect(e.message).toBe('OpenAI-compatible server answered HTTP 400');
  });

  it.each([[400, 'UPSTREAM_REJECTED'], [401, 'UPSTREAM_REJECTED'], [404, 'UPSTREAM_REJECTED'], [408, 'UPSTREAM_TIMEOUT'],
    [424, 'UPSTREAM_GENERATION_FAILED'], [500, 'UPSTREAM_GENERATION_FAILED'], [502, 'UPSTREAM_GENERATION_FAILED']] as const)('HTTP %i → %s', async (status, code) => {
    const { backend } = await setup((_req, res) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'boom', type: 'x', code: status } }));
    });
    const e = expectVlp((await collect(backend.generate(request()))).error, code);
    expect(e.message).toContain('boom');
    expect(e.retryAfterS).toBeUndefined();
  });

  it('connection refused → UPSTREAM_UNAVAILABLE', async () => {
    const backend = backendFor(`http://127.0.0.1:${await closedPort()}`, { connectTimeoutMs: 500 });
    expectVlp((await collect(backend.generate(request()))).error, 'UPSTREAM_UNAVAILABLE');
  });
});

describe('OpenAI adapter: broken streams', () => {
  it('socket reset mid-stream → UPSTREAM_RESET after the tokens before it', async () => {
    const { backend } = await setup(async (_req, res, raw) => {
      sseHead(res);
      res.write(sse(TWO));
      await sleep(20);
      raw.socket.destroy();
    });
    const { events, error } = await collect(backend.generate(request()));
    expect(events).toHaveLength(2);
    expectVlp(error, 'UPSTREAM_RESET');
  });

  it('a clean end, or [DONE], without a finish_reason → UPSTREAM_RESET', async () => {
    for (const tail of [[], ['[DONE]']]) {
      const { backend } = await setup((_req, res) => {
        sseHead(res);
        res.end(sse([...TWO, ...tail]));
      });
      const { events, error } = await collect(backend.generate(request()));
      expect(events).toHaveLength(2);
      expectVlp(error, 'UPSTREAM_RESET');
    }
  });

  it('a reset after finish_reason still completes the answer', async () => {
    const { backend } = await setup(async (_req, res, raw) => {
      sseHead(res);
      res.write(sse([...TWO, chunk('', 'length')]));
      await sleep(20);
      raw.socket.destroy();
    });
    const { events, error } = await collect(backend.generate(request()));
    expect(error).toBeUndefined();
    expect(events.at(-1)).toEqual({ kind: 'done', finish: 'length', generatedText: ' The capital', tokens: 2 });
  });

  it('malformed JSON data → UPSTREAM_PROTOCOL without quoting it', async () => {
    const { backend } = await setup((_req, res) => {
      sseHead(res);
      res.end(Buffer.concat([sse(TWO.slice(0, 1)), Buffer.from('data: {"choices":[{"delta":{"content":"secret\n\n')]));
    });
    const { events, error } = await collect(backend.generate(request()));
    expect(events).toHaveLength(1);
    const e = expectVlp(error, 'UPSTREAM_PROTOCOL');
    expect(e.message).not.toContain('secret');
    expect(e.cause).toBeUndefined();
  });

  it.each([
    ['choices not an array', { choices: {} }],
    ['content not a string', { choices: [{ delta: { content: 5 } }] }],
    ['finish_reason not a string', { choices: [{ delta: {}, finish_reason: 1 }] }],
    ['a JSON array', [1]],
  ])('%s → UPSTREAM_PROTOCOL', async (_name, event) => {
    const { backend } = await setup((_req, res) => {
      sseHead(res);
      res.end(sse([event, usageChunk(1, 1), '[DONE]']));
    });
    expectVlp((await collect(backend.generate(request()))).error, 'UPSTREAM_PROTOCOL');
  });

  it('a 200 that is not an event stream → UPSTREAM_PROTOCOL', async () => {
    const { backend } = await setup((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"choices":[]}');
    });
    expectVlp((await collect(backend.generate(request()))).error, 'UPSTREAM_PROTOCOL');
  });
});

describe('OpenAI adapter: timeouts', () => {
  it('inter-token stall → UPSTREAM_TIMEOUT on time, keep-alives notwithstanding, and the upstream is closed', async () => {
    const { server, backend } = await setup(async (_req, res) => {
      sseHead(res);
      res.write(sse(TWO.slice(0, 1)));
      for (let i = 0; i < 40 && !res.destroyed; i++) {
        await sleep(20);
        res.write(':\n\n');
      }
    }, { interTokenTimeoutMs: 150 });
    let lastToken = 0;
    let error: unknown;
    try {
      for await (const _ of backend.generate(request())) lastToken = performance.now();
    } catch (e) {
      error = e;
    }
    const failedAt = performance.now();
    const e = expectVlp(error, 'UPSTREAM_TIMEOUT');
    expect(e.message).toContain('inter-token');
    expect(failedAt - lastToken).toBeGreaterThanOrEqual(145);
    expect(failedAt - lastToken).toBeLessThan(300);
    const closedAt = await server.requests[0]!.socketClosed;
    expect(closedAt - failedAt).toBeLessThan(50);
  });

  it('no first token → UPSTREAM_TIMEOUT after firstTokenTimeoutMs (an empty role chunk is not a token)', async () => {
    const { backend } = await setup((_req, res) => {
      sseHead(res);
      res.write(sse([chunk('')]));
    }, { firstTokenTimeoutMs: 120 });
    const t0 = performance.now();
    const e = expectVlp((await collect(backend.generate(request()))).error, 'UPSTREAM_TIMEOUT');
    expect(e.message).toContain('first-token');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(115);
    expect(performance.now() - t0).toBeLessThan(300);
  });

  it('no response headers at all → UPSTREAM_TIMEOUT after firstTokenTimeoutMs', async () => {
    const { backend } = await setup(() => undefined, { firstTokenTimeoutMs: 120 });
    const t0 = performance.now();
    expectVlp((await collect(backend.generate(request()))).error, 'UPSTREAM_TIMEOUT');
    expect(performance.now() - t0).toBeLessThan(300);
  });

  it('a slow consumer is not an upstream stall', async () => {
    const { backend } = await setup((_req, res) => {
      sseHead(res);
      res.end(sse([...TWO, chunk('', 'stop'), usageChunk(3, 3), '[DONE]']));
    }, { interTokenTimeoutMs: 60, firstTokenTimeoutMs: 60 });
    const events = [];
    for await (const ev of backend.generate(request())) {
      events.push(ev);
      await sleep(100);
    }
    expect(events.at(-1)).toEqual({ kind: 'done', finish: 'eos_token', generatedText: ' The capital', tokens: 3 });
  });
});

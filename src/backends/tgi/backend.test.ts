// TGI adapter against scripted local HTTP servers: exact SSE bytes, error mapping, timeouts and
// cancellation with time bounds.
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { VlpError } from '../../../protocol/errors.ts';
import type { ErrorCode } from '../../../protocol/errors.ts';
import type { GenEvent, TextGenBackend, TextGenRequest } from '../ports.ts';
import { createTgiBackend } from './backend.ts';
import { consumeEvents } from '../push-drain.ts';
import type { TgiBackendOptions } from './backend.ts';
import {
  closedPort, finalEvent, sleep, sse, sseHead, startFakeTgi, tokenEvent, writeSplit,
} from './fake-tgi.testkit.ts';
import type { FakeTgi, Script } from './fake-tgi.testkit.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(script: Script, over: Partial<TgiBackendOptions> = {}): Promise<{ tgi: FakeTgi; backend: TextGenBackend }> {
  const tgi = await startFakeTgi(script);
  const backend = createTgiBackend({
    url: tgi.url, template: 'llama2-chat', vision: false,
    connectTimeoutMs: 1000, firstTokenTimeoutMs: 2000, interTokenTimeoutMs: 2000, ...over,
  });
  cleanups.push(() => tgi.close(), () => backend.close());
  return { tgi, backend };
}

function request(over: Partial<TextGenRequest> = {}): TextGenRequest {
  return {
    messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Capital of France?' }],
    params: { max_new_tokens: 20, stop: ['\n\n'] },
    signal: new AbortController().signal,
    ...over,
  };
}

async function collect(it: AsyncIterable<GenEvent>): Promise<{ events: GenEvent[]; error: unknown }> {
  const events: GenEvent[] = [];
  try {
    for await (const ev of it) {
      if (ev.kind !== 'token') {
        events.push(ev);
        continue;
      }
      // Every token carries the time its bytes were read (the relay-time metric needs it);
      // compared separately so the event assertions stay exact.
      if (typeof ev.recvAt !== 'number' || ev.recvAt > performance.now()) throw new Error('token event without a valid recvAt');
      const { recvAt: _recvAt, ...rest } = ev;
      events.push(rest);
    }
    return { events, error: undefined };
  } catch (error) {
    return { events, error };
  }
}

function expectVlp(error: unknown, code: ErrorCode): VlpError {
  expect(error).toBeInstanceOf(VlpError);
  expect((error as VlpError).code).toBe(code);
  return error as VlpError;
}

const PARIS = [
  tokenEvent(1, 450, ' The'),
  tokenEvent(2, 7483, ' capital'),
  tokenEvent(3, 338, ' is'),
  tokenEvent(4, 3681, ' Paris'),
  finalEvent(5, 2, '</s>', true, 'The capital is Paris', 'eos_token', 5),
];
const PARIS_EVENTS: GenEvent[] = [
  { kind: 'token', id: 450, text: ' The', special: false },
  { kind: 'token', id: 7483, text: ' capital', special: false },
  { kind: 'token', id: 338, text: ' is', special: false },
  { kind: 'token', id: 3681, text: ' Paris', special: false },
  { kind: 'token', id: 2, text: '</s>', special: true },
  { kind: 'done', finish: 'eos_token', generatedText: 'The capital is Paris', tokens: 5 },
];

describe('TGI adapter: streams', () => {
  it.each(['tight', 'spaced'] as const)('parses %s `data:` framing and sends the request TGI expects', async (framing) => {
    const { tgi, backend } = await setup((_req, res) => {
      sseHead(res);
      res.end(sse(PARIS, framing));
    });
    const { events, error } = await collect(backend.generate(request()));
    expect(error).toBeUndefined();
    expect(events).toEqual(PARIS_EVENTS);

    const [rec] = tgi.requests;
    expect(rec?.method).toBe('POST');
    expect(rec?.path).toBe('/generate_stream');
    expect(rec?.headers['content-type']).toBe('application/json');
    expect(rec?.headers.accept).toBe('text/event-stream');
    expect(JSON.parse(rec?.body ?? '')).toEqual({
      inputs: '[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nCapital of France? [/INST]',
      parameters: { details: true, return_full_text: false, max_new_tokens: 20, stop: ['\n\n'] },
    });
  });

  it('merges template stops first, dedupes and caps at 4 (idefics, with images)', async () => {
    const { tgi, backend } = await setup((_req, res) => {
      sseHead(res);
      res.end(sse([tokenEvent(1, 319, 'A cat.'), tokenEvent(2, 13, '\n'), finalEvent(3, 2659, 'User:', false, 'A cat.\nUser:', 'stop_sequence', 3)]));
    }, { template: 'idefics', vision: true });
    const { events } = await collect(backend.generate(request({
      messages: [{ role: 'user', content: 'What is this?', images: ['https://img.test/cat.png'] }],
      params: { temperature: 0.4, top_p: 0.8, stop: ['\nUser:', 'A', 'B', 'C'] },
    })));
    // TGI keeps a matched `\nUser:` in generated_text; the adapter strips it.
    expect(events.at(-1)).toEqual({ kind: 'done', finish: 'stop_sequence', generatedText: 'A cat.', tokens: 3 });
    expect(JSON.parse(tgi.requests[0]?.body ?? '')).toEqual({
      inputs: 'User:![](https://img.test/cat.png)What is this?<end_of_utterance>\nAssistant:',
      parameters: {
        details: true, return_full_text: false, temperature: 0.4, top_p: 0.8,
        stop: ['<end_of_utterance>', '\nUser:', 'A', 'B'],
      },
    });
  });

  it('survives events split at any byte: inside `data:`, inside UTF-8 characters, between the two newlines', async () => {
    const events = [
      tokenEvent(1, 1, ' café'),
      tokenEvent(2, 2, ' 😀'),
      tokenEvent(3, 3, ' 日本'),
      finalEvent(4, 2, '</s>', true, 'café 😀 日本', 'eos_token', 4),
    ];
    const bytes = sse(events, 'spaced');
    const emoji = bytes.indexOf(Buffer.from('😀'));
    const kanji = bytes.indexOf(Buffer.from('日'));
    const secondData = bytes.indexOf('data', 1);
    const blank = bytes.indexOf('\n\n');
    const cuts = [2, 4, blank + 1, secondData + 3, emoji + 1, emoji + 3, kanji + 2, bytes.length - 1];
    const { backend } = await setup(async (_req, res) => {
      sseHead(res);
      await writeSplit(res, bytes, cuts.sort((a, b) => a - b));
      res.end();
    });
    const { events: got, error } = await collect(backend.generate(request()));
    expect(error).toBeUndefined();
    expect(got.map((e) => (e.kind === 'token' ? e.text : e.generatedText))).toEqual([' café', ' 😀', ' 日本', '</s>', 'café 😀 日本']);
  });

  it('survives a stream delivered one byte at a time', async () => {
    const bytes = sse([tokenEvent(1, 1, ' ü😀'), finalEvent(2, 2, '</s>', true, 'ü😀', 'eos_token', 2)]);
    const cuts = Array.from({ length: bytes.length }, (_, i) => i);
    const { backend } = await setup(async (_req, res) => {
      sseHead(res);
      await writeSplit(res, bytes, cuts, 0);
      res.end();
    });
    const { events, error } = await collect(backend.generate(request()));
    expect(error).toBeUndefined();
    expect(events[0]).toEqual({ kind: 'token', id: 1, text: ' ü😀', special: false });
    expect(events).toHaveLength(3);
  });

  it('ignores `:` keep-alive comments', async () => {
    const { backend } = await setup((_req, res) => {
      sseHead(res);
      res.write(':\n\n');
      res.write(sse(PARIS.slice(0, 2)));
      res.write(':\n\n:keep-alive\n\n');
      res.end(sse(PARIS.slice(2)));
    });
    const { events, error } = await collect(backend.generate(request()));
    expect(error).toBeUndefined();
    expect(events).toEqual(PARIS_EVENTS);
  });

  it('yields the token of a final event that stopped on length, then done', async () => {
    const { backend } = await setup((_req, res) => {
      sseHead(res);
      res.end(sse([tokenEvent(1, 450, ' The'), finalEvent(2, 7483, ' capital', false, 'The capital', 'length', 2)]));
    });
    const { events } = await collect(backend.generate(request()));
    expect(events.slice(1)).toEqual([
      { kind: 'token', id: 7483, text: ' capital', special: false },
      { kind: 'done', finish: 'length', generatedText: 'The capital', tokens: 2 },
    ]);
  });

  it('counts tokens when the final event has no details', async () => {
    const { backend } = await setup((_req, res) => {
      sseHead(res);
      res.end(sse([tokenEvent(1, 1, 'a'), tokenEvent(2, 2, 'b'), finalEvent(3, 2, '</s>', true, 'ab', 'eos_token', undefined)]));
    });
    const { events } = await collect(backend.generate(request()));
    expect(events.at(-1)).toEqual({ kind: 'done', finish: 'eos_token', generatedText: 'ab', tokens: 3 });
  });

  it('reuses the keep-alive socket for the next generation', async () => {
    const { tgi, backend } = await setup((_req, res) => {
      sseHead(res);
      res.end(sse(PARIS));
    });
    await collect(backend.generate(request()));
    await sleep(10); // the finished body is drained in the background
    await collect(backend.generate(request()));
    expect(tgi.requests).toHaveLength(2);
    expect(tgi.requests[1]?.remotePort).toBe(tgi.requests[0]?.remotePort);
  });

  it('closes a socket idle for longer than idleSocketMs (the option reaches the pool)', async () => {
    const { tgi, backend } = await setup((_req, res) => {
      sseHead(res);
      res.end(sse(PARIS));
    }, { idleSocketMs: 1000 });
    await collect(backend.generate(request()));
    await sleep(300);
    await collect(backend.generate(request())); // within the idle time: same socket
    await sleep(1300);
    await collect(backend.generate(request())); // after it: a new one
    const ports = tgi.requests.map((r) => r.remotePort);
    expect(ports[1]).toBe(ports[0]);
    expect(ports[2]).not.toBe(ports[1]);
  });
});

describe('TGI adapter: error mapping', () => {
  it.each([
    ['validation', 'UPSTREAM_REJECTED'],
    ['overloaded', 'UPSTREAM_OVERLOADED'],
    ['generation', 'UPSTREAM_GENERATION_FAILED'],
    ['incomplete_generation', 'UPSTREAM_GENERATION_FAILED'],
    ['incomplete_generation_stream', 'UPSTREAM_GENERATION_FAILED'],
    ['template_error', 'UPSTREAM_GENERATION_FAILED'],
  ] as const)('error event %s → %s, after the tokens before it', async (errorType, code) => {
    const message = `Request failed: ${errorType} ${'x'.repeat(300)}`;
    const { backend } = await setup((_req, res) => {
      sseHead(res);
      res.end(Buffer.concat([sse(PARIS.slice(0, 2)), sse([{ error: message, error_type: errorType }])]));
    });
    const { events, error } = await collect(backend.generate(request()));
    expect(events).toHaveLength(2);
    const e = expectVlp(error, code);
    expect(e.message).toContain(`Request failed: ${errorType}`);
    expect(e.message.length).toBeLessThan(260); // upstream text cut to 200 characters
    expect(e.message).not.toContain('Capital of France');
  });

  it('HTTP 429 → UPSTREAM_OVERLOADED with Retry-After seconds', async () => {
    const { backend } = await setup((_req, res) => {
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '7' });
      res.end(JSON.stringify({ error: 'Model is overloaded', error_type: 'overloaded' }));
    });
    const e = expectVlp((await collect(backend.generate(request()))).error, 'UPSTREAM_OVERLOADED');
    expect(e.retryAfterS).toBe(7);
    expect(e.message).toContain('Model is overloaded');
  });

  it('HTTP 503 → UPSTREAM_OVERLOADED (Retry-After as an HTTP date)', async () => {
    const { backend } = await setup((_req, res) => {
      res.writeHead(503, { 'retry-after': new Date(Date.now() + 30_000).toUTCString() });
      res.end('unavailable');
    });
    const e = expectVlp((await collect(backend.generate(request()))).error, 'UPSTREAM_OVERLOADED');
    expect(e.retryAfterS).toBeGreaterThanOrEqual(28);
    expect(e.retryAfterS).toBeLessThanOrEqual(31);
  });

  it('HTTP 503 with a day-long Retry-After → retryAfterS capped at 300 s', async () => {
    const { backend } = await setup((_req, res) => {
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '86400' });
      res.end(JSON.stringify({ error: 'unhealthy', error_type: 'healthcheck' }));
    });
    const e = expectVlp((await collect(backend.generate(request()))).error, 'UPSTREAM_OVERLOADED');
    expect(e.retryAfterS).toBe(300);
  });

  it('HTTP 422 plain text → UPSTREAM_REJECTED without echoing the body', async () => {
    const { backend } = await setup((_req, res) => {
      res.writeHead(422, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('Failed to deserialize the JSON body into the target type: inputs: "Capital of France?"');
    });
    const e = expectVlp((await collect(backend.generate(request()))).error, 'UPSTREAM_REJECTED');
    expect(e.message).toBe('TGI answered HTTP 422');
  });

  it.each([[400, 'UPSTREAM_REJECTED'], [413, 'UPSTREAM_REJECTED'], [415, 'UPSTREAM_REJECTED'], [424, 'UPSTREAM_GENERATION_FAILED'],
    [500, 'UPSTREAM_GENERATION_FAILED'], [502, 'UPSTREAM_GENERATION_FAILED'], [504, 'UPSTREAM_GENERATION_FAILED'],
    [404, 'UPSTREAM_GENERATION_FAILED']] as const)('HTTP %i → %s', async (status, code) => {
    const { backend } = await setup((_req, res) => {
      res.writeHead(status);
      res.end(JSON.stringify({ error: 'Request failed during generation: Server error: boom', error_type: 'generation' }));
    });
    const e = expectVlp((await collect(backend.generate(request()))).error, code);
    expect(e.message).toContain('boom');
    expect(e.retryAfterS).toBeUndefined();
  });

  it('connection refused → UPSTREAM_UNAVAILABLE', async () => {
    const port = await closedPort();
    const backend = createTgiBackend({
      url: `http://127.0.0.1:${port}`, template: 'llama2-chat', vision: false,
      connectTimeoutMs: 500, firstTokenTimeoutMs: 2000, interTokenTimeoutMs: 2000,
    });
    cleanups.push(() => backend.close());
    expectVlp((await collect(backend.generate(request()))).error, 'UPSTREAM_UNAVAILABLE');
  });

  it('socket reset mid-stream → UPSTREAM_RESET after the tokens before it', async () => {
    const { backend } = await setup(async (_req, res, raw) => {
      sseHead(res);
      res.write(sse(PARIS.slice(0, 2)));
      await sleep(20);
      raw.socket.destroy();
    });
    const { events, error } = await collect(backend.generate(request()));
    expect(events).toHaveLength(2);
    expectVlp(error, 'UPSTREAM_RESET');
  });

  it('clean end without a final event → UPSTREAM_RESET', async () => {
    const { backend } = await setup((_req, res) => {
      sseHead(res);
      res.end(sse(PARIS.slice(0, 3)));
    });
    const { events, error } = await collect(backend.generate(request()));
    expect(events).toHaveLength(3);
    expectVlp(error, 'UPSTREAM_RESET');
  });

  it('malformed JSON data → UPSTREAM_PROTOCOL without quoting it', async () => {
    const { backend } = await setup((_req, res) => {
      sseHead(res);
      res.end(Buffer.concat([sse(PARIS.slice(0, 1)), Buffer.from('data:{"index":2,"token":{"id":5,"text":"secret\n\n')]));
    });
    const { events, error } = await collect(backend.generate(request()));
    expect(events).toHaveLength(1);
    const e = expectVlp(error, 'UPSTREAM_PROTOCOL');
    expect(e.message).not.toContain('secret');
    expect(e.cause).toBeUndefined();
  });

  it('a 200 that is not an event stream → UPSTREAM_PROTOCOL', async () => {
    const { backend } = await setup((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>proxy login</html>');
    });
    expectVlp((await collect(backend.generate(request()))).error, 'UPSTREAM_PROTOCOL');
  });
});

describe('TGI adapter: timeouts', () => {
  it('inter-token stall → UPSTREAM_TIMEOUT on time, keep-alives notwithstanding, and the upstream is closed', async () => {
    const { tgi, backend } = await setup(async (_req, res) => {
      sseHead(res);
      res.write(sse(PARIS.slice(0, 1)));
      for (let i = 0; i < 40 && !res.destroyed; i++) {
        await sleep(20);
        res.write(':\n\n');
      }
    }, { interTokenTimeoutMs: 150 });
    let lastToken = 0;
    const gen = backend.generate(request());
    let error: unknown;
    try {
      for await (const _ of gen) lastToken = performance.now();
    } catch (e) {
      error = e;
    }
    const failedAt = performance.now();
    const waited = failedAt - lastToken;
    const e = expectVlp(error, 'UPSTREAM_TIMEOUT');
    expect(e.message).toContain('inter-token');
    expect(waited).toBeGreaterThanOrEqual(145);
    expect(waited).toBeLessThan(300);
    const closedAt = await tgi.requests[0]!.socketClosed;
    expect(closedAt - failedAt).toBeLessThan(50);
  });

  it('no first token → UPSTREAM_TIMEOUT after firstTokenTimeoutMs (headers sent, nothing else)', async () => {
    const { backend } = await setup((_req, res) => sseHead(res), { firstTokenTimeoutMs: 120 });
    const t0 = performance.now();
    const { error } = await collect(backend.generate(request()));
    const e = expectVlp(error, 'UPSTREAM_TIMEOUT');
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
      res.end(sse(PARIS));
    }, { interTokenTimeoutMs: 60, firstTokenTimeoutMs: 60 });
    const events: GenEvent[] = [];
    for await (const ev of backend.generate(request())) {
      if (ev.kind === 'token') {
        const { recvAt: _recvAt, ...rest } = ev;
        events.push(rest);
      } else events.push(ev);
      await sleep(100);
    }
    expect(events).toEqual(PARIS_EVENTS);
  });
});

describe('TGI adapter: cancellation', () => {
  /** A stream that sends two tokens, then nothing, and never ends. */
  const hanging: Script = (_req, res) => {
    sseHead(res);
    res.write(sse(PARIS.slice(0, 2)));
  };

  it('aborting the signal mid-stream closes the upstream socket within 50 ms and throws AbortError', async () => {
    const { tgi, backend } = await setup(hanging);
    const ac = new AbortController();
    let abortedAt = 0;
    let n = 0;
    let error: unknown;
    try {
      for await (const _ of backend.generate(request({ signal: ac.signal }))) {
        if (++n === 2) {
          setTimeout(() => {
            abortedAt = performance.now();
            ac.abort();
          }, 20);
        }
      }
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(VlpError);
    expect((error as Error).name).toBe('AbortError');
    const closedAt = await tgi.requests[0]!.socketClosed;
    expect(closedAt - abortedAt).toBeLessThan(50);
  });

  it('breaking out of the loop closes the upstream socket within 50 ms', async () => {
    const { tgi, backend } = await setup(hanging);
    let brokeAt = 0;
    let n = 0;
    for await (const _ of backend.generate(request())) {
      if (++n === 2) {
        brokeAt = performance.now();
        break;
      }
    }
    const closedAt = await tgi.requests[0]!.socketClosed;
    expect(closedAt - brokeAt).toBeLessThan(50);
  });

  it('an already-aborted signal throws AbortError without calling upstream', async () => {
    const { tgi, backend } = await setup(hanging);
    const ac = new AbortController();
    ac.abort();
    const { error } = await collect(backend.generate(request({ signal: ac.signal })));
    expect((error as Error).name).toBe('AbortError');
    expect(tgi.requests).toHaveLength(0);
  });

  it('push mode: a consumer that cancels inside a batch gets nothing after it, the socket closes within 50 ms, the pool serves on', async () => {
    let calls = 0;
    const { tgi, backend } = await setup((_req, res) => {
      if (calls++ > 0) {
        sseHead(res);
        res.end(sse(PARIS));
        return;
      }
      sseHead(res);
      res.write(sse(PARIS.slice(0, 1)));
      // The rest in one write: one read, one batch pushed to the consumer.
      setTimeout(() => res.write(sse(PARIS.slice(1))), 30);
    });
    const ac = new AbortController();
    const texts: string[] = [];
    let abortedAt = 0;
    let error: unknown;
    try {
      await consumeEvents(backend.generate(request({ signal: ac.signal })), (ev) => {
        texts.push(ev.kind === 'token' ? ev.text : '|');
        if (texts.length === 2) {
          abortedAt = performance.now();
          ac.abort(); // synchronously, inside the socket's data callback
        }
      });
    } catch (e) {
      error = e;
    }
    expect((error as Error).name).toBe('AbortError');
    expect(texts).toEqual([' The', ' capital']);
    const closedAt = await tgi.requests[0]!.socketClosed;
    expect(closedAt - abortedAt).toBeLessThan(50);
    const all: GenEvent[] = [];
    await consumeEvents(backend.generate(request()), (ev) => all.push(ev));
    expect(all.map((e) => (e.kind === 'token' ? e.text : e.kind))).toEqual([' The', ' capital', ' is', ' Paris', '</s>', 'done']);
  });

  it('the pool keeps serving after a cancelled stream', async () => {
    let calls = 0;
    const { backend } = await setup((req, res, raw) => {
      if (calls++ === 0) return hanging(req, res, raw);
      sseHead(res);
      res.end(sse(PARIS));
    });
    for await (const _ of backend.generate(request())) break;
    const { events, error } = await collect(backend.generate(request()));
    expect(error).toBeUndefined();
    expect(events).toEqual(PARIS_EVENTS);
  });
});

describe('TGI adapter: construction', () => {
  it('refuses vision with a text-only template', () => {
    expect(() => createTgiBackend({
      url: 'http://127.0.0.1:1', template: 'llama2-chat', vision: true,
      connectTimeoutMs: 1, firstTokenTimeoutMs: 1, interTokenTimeoutMs: 1,
    })).toThrow(/cannot carry images/);
  });

  it('has a credential-free id and declares its capabilities', async () => {
    const backend = createTgiBackend({
      url: 'http://user:pw@tgi.internal:8080/llama/', template: 'idefics', vision: true,
      connectTimeoutMs: 1, firstTokenTimeoutMs: 1, interTokenTimeoutMs: 1,
    });
    expect(backend.id).toBe('tgi:http://tgi.internal:8080/llama');
    expect(backend.capabilities).toEqual({ vision: true, streaming: true });
    await backend.close();
  });
});

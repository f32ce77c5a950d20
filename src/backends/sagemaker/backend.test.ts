// SageMaker adapter against a scripted runtime on loopback (real SDK client): keep-alive reuse after a
// clean end, streams that end early or carry the wrong content type, keep-alive-only streams, config
// errors (region, credentials) and construction checks. Faults through the real simulator are in
// sim/sagemaker/adapter-e2e.test.ts.
import type { ServerResponse } from 'node:http';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { VlpError } from '../../../protocol/errors.ts';
import type { ErrorCode } from '../../../protocol/errors.ts';
import type { GenEvent, TextGenBackend, TextGenRequest } from '../ports.ts';
import { createSageMakerBackend, type SageMakerBackendOptions } from './index.ts';
import { part, sleep, startFakeRuntime, streamHead, tgiEvent, type FakeRuntime, type RuntimeScript } from './fake-runtime.testkit.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  vi.unstubAllEnvs();
  for (const c of cleanups.splice(0).reverse()) await c();
});

function backend(over: Partial<SageMakerBackendOptions> = {}): TextGenBackend {
  const b = createSageMakerBackend({
    endpointName: 'ep', region: 'us-east-1', credentials: { accessKeyId: 'AKID', secretAccessKey: 'x' }, streaming: true,
    template: 'llama2-chat', vision: false, firstTokenTimeoutMs: 1000, interTokenTimeoutMs: 1000, ...over,
  });
  cleanups.push(() => b.close());
  return b;
}

async function setup(script: RuntimeScript, over: Partial<SageMakerBackendOptions> = {}): Promise<{ rt: FakeRuntime; b: TextGenBackend }> {
  const rt = await startFakeRuntime(script);
  cleanups.push(() => rt.close());
  return { rt, b: backend({ endpointUrl: rt.url, ...over }) };
}

const request = (over: Partial<TextGenRequest> = {}): TextGenRequest => ({
  messages: [{ role: 'user', content: 'Capital of France?' }],
  params: { max_new_tokens: 10 },
  signal: new AbortController().signal,
  ...over,
});

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

const answer: RuntimeScript = async (_req, res) => {
  streamHead(res);
  res.write(part(tgiEvent(1, ' Paris')));
  await sleep(2);
  res.end(part(tgiEvent(2, '</s>', 'Paris')));
};

describe('sagemaker backend (scripted runtime)', () => {
  it('sends the TGI compat body with stream:true and return_full_text:false to the streaming route', async () => {
    const { rt, b } = await setup(answer);
    const { events, error } = await collect(b.generate(request()));
    expect(error).toBeUndefined();
    expect(events.map((e) => e.kind)).toEqual(['token', 'token', 'done']);
    expect(rt.requests[0]?.path).toBe('/endpoints/ep/invocations-response-stream');
    const body = JSON.parse(rt.requests[0]?.body ?? '{}') as { inputs: string; parameters: Record<string, unknown>; stream: boolean };
    expect(body.stream).toBe(true);
    expect(body.parameters).toMatchObject({ details: true, return_full_text: false, max_new_tokens: 10 });
    expect(body.inputs).toBe('[INST] Capital of France? [/INST]');
  });

  it('reads a finished stream to its end so the keep-alive socket is reused', async () => {
    const { rt, b } = await setup(answer);
    for (let i = 0; i < 3; i++) {
      expect((await collect(b.generate(request()))).error).toBeUndefined();
      await sleep(20); // the drain runs in the background, after the done event
    }
    expect(new Set(rt.requests.map((r) => r.remotePort)).size).toBe(1);
  });

  it('a stream that ends without the final event → UPSTREAM_RESET', async () => {
    const { b } = await setup((_req, res) => {
      streamHead(res);
      res.end(part(tgiEvent(1, ' Paris')));
    });
    const { events, error } = await collect(b.generate(request()));
    expect(events).toHaveLength(1);
    expect((error as VlpError).code).toBe('UPSTREAM_RESET');
  });

  it('a container that did not answer SSE → UPSTREAM_PROTOCOL', async () => {
    const { b } = await setup((_req, res) => {
      streamHead(res, 'application/json');
      res.end(part('[{"generated_text":"Paris"}]'));
    });
    expect(((await collect(b.generate(request()))).error as VlpError).code).toBe('UPSTREAM_PROTOCOL');
  });

  it('keep-alive comments are not progress: first-token timeout, and the socket is closed', async () => {
    const { rt, b } = await setup(async (_req, res) => {
      streamHead(res);
      for (let i = 0; i < 20 && !res.destroyed; i++) {
        res.write(part(':\n\n'));
        await sleep(20);
      }
    }, { firstTokenTimeoutMs: 120 });
    const { error } = await collect(b.generate(request()));
    expect((error as VlpError).code).toBe('UPSTREAM_TIMEOUT');
    await rt.requests[0]?.socketClosed;
  });

  it('non-streaming mode calls /invocations without stream:true', async () => {
    const { rt, b } = await setup((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('[{"generated_text":"Paris.","details":{"finish_reason":"eos_token","generated_tokens":3}}]');
    }, { streaming: false });
    const { events } = await collect(b.generate(request()));
    expect(events).toEqual([
      { kind: 'token', id: -1, text: 'Paris.', special: false },
      { kind: 'done', finish: 'eos_token', generatedText: 'Paris.', tokens: 3 },
    ]);
    expect(b.capabilities).toEqual({ vision: false, streaming: false });
    expect(rt.requests[0]?.path).toBe('/endpoints/ep/invocations');
    expect((JSON.parse(rt.requests[0]?.body ?? '{}') as { stream: boolean }).stream).toBe(false);
  });
});

describe('AWS error replies through the real SDK: no cause, no request text', () => {
  const SECRET = 'my secret question about the patient';
  const awsError = (res: ServerResponse, status: number, type: string, body: Record<string, unknown>, headers: Record<string, string> = {}): void => {
    res.writeHead(status, {
      'content-type': 'application/json', 'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.sagemaker.runtime/`,
      'x-amzn-requestid': 'a1b2c3d4-0000-4000-8000-000000000001', ...headers,
    });
    res.end(JSON.stringify(body));
  };
  /** The prompt as the runtime received it (the scripts quote it back, as AWS and containers can). */
  const inputsOf = (body: string): string => (JSON.parse(body) as { inputs: string }).inputs;
  const cases: [string, RuntimeScript, ErrorCode, string, number | undefined][] = [
    ['ValidationError quoting the request', (req, res) => awsError(res, 400, 'ValidationError', {
      Message: `1 validation error detected: Value '${inputsOf(req.body)}' at 'body' failed to satisfy constraint: Member must not be null`,
    }), 'UPSTREAM_REJECTED', "SageMaker ValidationError: 1 validation error detected: Value '…' at 'body' failed to satisfy constraint: Member must not be null (HTTP 400, request id a1b2c3d4-0000-4000-8000-000000000001)", undefined],
    ['ModelError quoting the request', (req, res) => awsError(res, 424, 'ModelError', {
      Message: `Received client error (422) from primary with message "Failed to deserialize: ${inputsOf(req.body)}".`, OriginalStatusCode: 422, OriginalMessage: `Failed to deserialize: ${inputsOf(req.body)}`,
    }), 'UPSTREAM_REJECTED', 'SageMaker ModelError: the model container answered HTTP 422 (request id a1b2c3d4-0000-4000-8000-000000000001)', undefined],
    ['an unmodeled exception quoting the request', (req, res) => awsError(res, 400, 'SomethingNewException', {
      message: `cannot handle "${inputsOf(req.body)}"`,
    }), 'UPSTREAM_REJECTED', 'SageMaker SomethingNewException: cannot handle "…" (HTTP 400, request id a1b2c3d4-0000-4000-8000-000000000001)', undefined],
    ['ThrottlingException with Retry-After', (_req, res) => awsError(res, 400, 'ThrottlingException', { message: 'Rate exceeded' }, { 'retry-after': '5' }),
      'UPSTREAM_OVERLOADED', 'SageMaker ThrottlingException: Rate exceeded (HTTP 400, request id a1b2c3d4-0000-4000-8000-000000000001)', 5],
    // A proxy's 503 that is not AWS JSON: the SDK's parse error quotes the body.
    ['an unreadable 503 reply quoting the request, with Retry-After', (req, res) => {
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '4' });
      res.end(`upstream busy while handling ${inputsOf(req.body)}`);
    }, 'UPSTREAM_OVERLOADED', 'SageMaker answered with an unreadable error reply (SyntaxError) (HTTP 503)', 4],
  ];
  for (const [what, script, code, message, retryAfterS] of cases) {
    it(`${what} → ${code}`, async () => {
      const { b } = await setup(script);
      const { error } = await collect(b.generate(request({ messages: [{ role: 'user', content: SECRET }] })));
      expect(error).toBeInstanceOf(VlpError);
      const e = error as VlpError;
      expect([e.code, e.message, e.retryAfterS]).toEqual([code, message, retryAfterS]);
      expect(e.cause).toBeUndefined();
      expect(inspect(e, { depth: 8, showHidden: true })).not.toContain('secret');
    });
  }
});

describe('configuration problems', () => {
  function noAwsConfig(): void {
    vi.stubEnv('AWS_REGION', undefined);
    vi.stubEnv('AWS_ACCESS_KEY_ID', undefined);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', undefined);
    vi.stubEnv('AWS_PROFILE', undefined);
    vi.stubEnv('AWS_CONFIG_FILE', '/nonexistent/aws-config');
    vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', '/nonexistent/aws-credentials');
    vi.stubEnv('AWS_EC2_METADATA_DISABLED', 'true');
  }

  it('no region anywhere → UPSTREAM_UNAVAILABLE, not retryable', async () => {
    noAwsConfig();
    const b = createSageMakerBackend({ endpointName: 'ep', streaming: true, template: 'llama2-chat', vision: false, firstTokenTimeoutMs: 1000, interTokenTimeoutMs: 1000 });
    cleanups.push(() => b.close());
    const { error } = await collect(b.generate(request()));
    expect(error).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', retryable: false });
  });

  it('probe() is false when credentials do not resolve, true with them', async () => {
    noAwsConfig();
    const without = createSageMakerBackend({ endpointName: 'ep', region: 'us-east-1', streaming: true, template: 'llama2-chat', vision: false, firstTokenTimeoutMs: 1000, interTokenTimeoutMs: 1000 });
    cleanups.push(() => without.close());
    expect(await without.probe(2000)).toBe(false);
    expect(await backend().probe(2000)).toBe(true);
  });

  it('vision needs a template that carries images; images never reach a text-only backend', async () => {
    expect(() => backend({ vision: true })).toThrow(/cannot carry images/);
    const { error } = await collect(backend().generate(request({ messages: [{ role: 'user', content: 'x', images: ['data:image/png;base64,AA=='] }] })));
    expect((error as Error).message).toMatch(/without vision/);
  });
});

// The simulated SageMaker runtime on the wire: routes, AWS error replies (checked both as raw HTTP and
// as the exception classes the real SDK builds from them), the non-streaming relay, fault selection,
// the admin route, and container-request abort when the client goes away.
import { once } from 'node:events';
import {
  InvokeEndpointCommand,
  InvokeEndpointWithResponseStreamCommand,
  ModelError,
  ModelNotReadyException,
  SageMakerRuntimeClient,
  ServiceUnavailable,
  ValidationError,
} from '@aws-sdk/client-sagemaker-runtime';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTgiSim, type TgiSim } from '../tgi/index.ts';
import { get, post } from '../tgi/test-client.ts';
import { startSageMakerSim, type SageMakerRequestEvent, type SageMakerSim } from './index.ts';

const enc = new TextEncoder();
let tgi: TgiSim;
let sm: SageMakerSim;
let client: SageMakerRuntimeClient;

beforeAll(async () => {
  tgi = await startTgiSim({ ttftMs: 5, itlMs: 2, jitter: 0 });
  sm = await startSageMakerSim({
    endpoints: {
      llm: { tgiUrl: tgi.url, variants: ['AllTraffic', 'Canary'] },
      plain: { tgiUrl: tgi.url, streaming: false },
      forced: { tgiUrl: tgi.url, forceStream: true },
    },
    accountId: '111122223333',
  });
  client = new SageMakerRuntimeClient({ region: 'eu-west-1', endpoint: sm.url, credentials: { accessKeyId: 'AKID', secretAccessKey: 'x' }, maxAttempts: 1 });
});
afterAll(async () => {
  client.destroy();
  await sm.close();
  await tgi.close();
});
beforeEach(async () => {
  await get(sm.url, '/__sim/faults', 'DELETE');
});

const body = (inputs = '[INST] Tell me about Paris [/INST]', extra: Record<string, unknown> = {}): Uint8Array =>
  enc.encode(JSON.stringify({ inputs, parameters: { max_new_tokens: 12, return_full_text: false }, ...extra }));

async function thrown(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('errors', () => {
  it('unknown endpoint: 400 with x-amzn-ErrorType ValidationError; the SDK builds ValidationError', async () => {
    const raw = await post(sm.url, '/endpoints/nope/invocations', '{}');
    expect(raw.status).toBe(400);
    expect(raw.headers['x-amzn-errortype']).toMatch(/^ValidationError:/);
    expect(JSON.parse(raw.text)).toEqual({ Message: 'Endpoint nope of account 111122223333 not found.' });
    const err = await thrown(client.send(new InvokeEndpointWithResponseStreamCommand({ EndpointName: 'nope', Body: body(), ContentType: 'application/json' })));
    expect(err).toBeInstanceOf(ValidationError);
    expect(err).toMatchObject({ message: 'Endpoint nope of account 111122223333 not found.', $metadata: { httpStatusCode: 400 } });
  });

  it('the container answering non-2xx becomes ModelError with OriginalStatusCode and OriginalMessage', async () => {
    const err = await thrown(client.send(new InvokeEndpointCommand({ EndpointName: 'llm', Body: enc.encode('{"parameters":{}}'), ContentType: 'application/json' })));
    expect(err).toBeInstanceOf(ModelError);
    expect(err).toMatchObject({ OriginalStatusCode: 422, $metadata: { httpStatusCode: 424 } });
    expect((err as ModelError).OriginalMessage).toMatch(/^Failed to deserialize the JSON body into the target type: missing field `inputs`/);
    expect((err as ModelError).LogStreamArn).toBe('arn:aws:logs:us-east-1:111122223333:log-group:/aws/sagemaker/Endpoints/llm');
  });

  it('service-side faults use the modeled statuses (queued through the admin route)', async () => {
    expect((await post(sm.url, '/__sim/faults', { kind: 'model_not_ready' })).status).toBe(200);
    expect(await thrown(client.send(new InvokeEndpointCommand({ EndpointName: 'llm', Body: body(), ContentType: 'application/json' })))).toBeInstanceOf(
      ModelNotReadyException,
    );
    await post(sm.url, '/__sim/faults', { kind: 'service_unavailable' });
    const err = await thrown(client.send(new InvokeEndpointCommand({ EndpointName: 'llm', Body: body(), ContentType: 'application/json' })));
    expect(err).toBeInstanceOf(ServiceUnavailable);
    expect(err).toMatchObject({ $metadata: { httpStatusCode: 503 } });
    await post(sm.url, '/__sim/faults', { kind: 'throttling' });
    expect(await thrown(client.send(new InvokeEndpointCommand({ EndpointName: 'llm', Body: body(), ContentType: 'application/json' })))).toMatchObject({
      name: 'ThrottlingException',
      $fault: 'client',
    });
  });

  it('target variant and streaming support are checked', async () => {
    expect(await thrown(client.send(new InvokeEndpointCommand({ EndpointName: 'llm', TargetVariant: 'Blue', Body: body(), ContentType: 'application/json' })))).toBeInstanceOf(
      ValidationError,
    );
    const err = await thrown(client.send(new InvokeEndpointWithResponseStreamCommand({ EndpointName: 'plain', Body: body(), ContentType: 'application/json' })));
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as Error).message).toMatch(/does not support response streaming/);
  });

  it('unknown routes and methods: 404 UnknownOperationException', async () => {
    const res = await get(sm.url, '/endpoints/llm/invocations');
    expect(res.status).toBe(404);
    expect(res.headers['x-amzn-errortype']).toMatch(/^UnknownOperationException/);
  });
});

describe('relay', () => {
  it('InvokeEndpoint returns the container JSON as is, with its content type and the variant', async () => {
    const out = await client.send(new InvokeEndpointCommand({ EndpointName: 'llm', TargetVariant: 'Canary', Body: body(), ContentType: 'application/json' }));
    expect(out.ContentType).toBe('application/json');
    expect(out.InvokedProductionVariant).toBe('Canary');
    const parsed = JSON.parse(new TextDecoder().decode(out.Body)) as { generated_text: string }[];
    expect(parsed).toHaveLength(1);
    expect(parsed[0]?.generated_text).toMatch(/Paris/);
  });

  it('the streaming route relays the body as sent: without stream:true TGI answers the JSON array', async () => {
    const out = await client.send(new InvokeEndpointWithResponseStreamCommand({ EndpointName: 'llm', Body: body(), ContentType: 'application/json' }));
    expect(out.ContentType).toBe('application/json');
    let text = '';
    for await (const ev of out.Body ?? []) text += new TextDecoder().decode(ev.PayloadPart?.Bytes);
    expect(text).toMatch(/^\[\{"generated_text":/);
  });

  it('forceStream: true makes the streaming route ask the container for SSE', async () => {
    const out = await client.send(new InvokeEndpointWithResponseStreamCommand({ EndpointName: 'forced', Body: body(), ContentType: 'application/json' }));
    expect(out.ContentType).toBe('text/event-stream');
    let text = '';
    for await (const ev of out.Body ?? []) text += new TextDecoder().decode(ev.PayloadPart?.Bytes);
    expect(text).toMatch(/^data: \{"index":1,/);
  });

  it('a directive in an earlier turn does not fire again; one in the last user message does', async () => {
    const seen: SageMakerRequestEvent[] = [];
    const on = (e: SageMakerRequestEvent): void => void seen.push(e);
    sm.events.on('request', on);
    const history = '[INST] hi [[sim:fault=throttling]] [/INST] Hello! </s><s>[INST] Tell me about Rome [/INST]';
    await client.send(new InvokeEndpointCommand({ EndpointName: 'llm', Body: body(history), ContentType: 'application/json' }));
    await thrown(client.send(new InvokeEndpointCommand({ EndpointName: 'llm', Body: body('[INST] Rome [[sim:fault=throttling]] [/INST]'), ContentType: 'application/json' })));
    sm.events.off('request', on);
    expect(seen.map((e) => e.fault)).toEqual([null, 'throttling']);
  });

  it('the container request is aborted when the client goes away', async () => {
    const tgiClosed = once(tgi.events, 'request-closed');
    const ac = new AbortController();
    const res = await request(`${sm.url}/endpoints/llm/invocations-response-stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: body('[INST] Tell me a long story [/INST]', { stream: true, parameters: { max_new_tokens: 200 } }),
      signal: ac.signal,
    });
    expect(res.headers['content-type']).toBe('application/vnd.amazon.eventstream');
    expect(res.headers['x-amzn-sagemaker-content-type']).toBe('text/event-stream');
    for await (const _ of res.body) break; // first bytes, then leave (destroys the socket)
    const t0 = performance.now();
    const [ev] = (await tgiClosed) as [{ completed: boolean; atMs: number }];
    expect(ev.completed).toBe(false);
    expect(ev.atMs - t0).toBeLessThan(100);
  });
});

describe('admin route', () => {
  it('queues, lists and clears SageMaker faults; refuses TGI kinds', async () => {
    await post(sm.url, '/__sim/faults', { kind: 'model_stream_error', count: 2, afterEvents: 1 });
    expect(JSON.parse((await get(sm.url, '/__sim/faults')).text)).toEqual({ queued: [{ kind: 'model_stream_error', remaining: 2, afterEvents: 1 }] });
    expect(JSON.parse((await get(sm.url, '/__sim/faults', 'DELETE')).text)).toEqual({ cleared: 2 });
    expect((await post(sm.url, '/__sim/faults', { kind: 'stall' })).status).toBe(400);
  });
});

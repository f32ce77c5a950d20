// A `groundedSam: true` endpoint of the simulated SageMaker runtime, driven with the raw AWS SDK:
// the container's NDJSON relayed byte for byte (PayloadParts cut inside lines and inside UTF-8
// characters; the whole body on InvokeEndpoint), stream faults counted in lines, SageMaker-kind
// directives read from `text_prompt`, container refusals as ModelError, and client aborts reaching
// the Grounded-SAM service.
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import {
  InvokeEndpointCommand,
  InvokeEndpointWithResponseStreamCommand,
  InternalStreamFailure,
  ModelError,
  ModelStreamError,
  SageMakerRuntimeClient,
  ValidationError,
} from '@aws-sdk/client-sagemaker-runtime';
import sharp from 'sharp';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startGroundedSamSim, type GroundedSamRequestClosedEvent, type GroundedSamSim } from '../grounded-sam/index.ts';
import { get, post } from '../tgi/test-client.ts';
import { startSageMakerSim, type SageMakerRequestEvent, type SageMakerSim } from './index.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();
let gsam: GroundedSamSim;
let sm: SageMakerSim;
let client: SageMakerRuntimeClient;
let imageB64: string;

beforeAll(async () => {
  gsam = await startGroundedSamSim({ detectMs: 5, perMaskMs: 2, jitter: 0 });
  sm = await startSageMakerSim({
    endpoints: {
      gsam: { groundedSam: true, groundedSamUrl: gsam.url },
      'gsam-plain': { groundedSam: true, groundedSamUrl: gsam.url, streaming: false },
    },
  });
  client = new SageMakerRuntimeClient({ region: 'us-east-1', endpoint: sm.url, credentials: { accessKeyId: 'AKID', secretAccessKey: 'x' }, maxAttempts: 1 });
  imageB64 = (await sharp({ create: { width: 64, height: 48, channels: 3, background: '#345' } }).png().toBuffer()).toString('base64');
});
afterAll(async () => {
  client.destroy();
  await sm.close();
  await gsam.close();
});
beforeEach(async () => {
  await get(sm.url, '/__sim/faults', 'DELETE');
});

const body = (textPrompt: string): string => JSON.stringify({ image: imageB64, text_prompt: textPrompt, box_threshold: 0.5, text_threshold: 0.55 });

/** The service's own answer to the same body, straight over HTTP. */
async function direct(textPrompt: string): Promise<string> {
  return (await post(gsam.url, '/detect_segment', body(textPrompt))).text;
}

async function streamed(textPrompt: string, endpoint = 'gsam'): Promise<{ parts: Uint8Array[]; contentType: string | undefined; error: unknown }> {
  const parts: Uint8Array[] = [];
  let contentType: string | undefined;
  try {
    const out = await client.send(
      new InvokeEndpointWithResponseStreamCommand({ EndpointName: endpoint, ContentType: 'application/json', Accept: 'application/x-ndjson', Body: enc.encode(body(textPrompt)) }),
    );
    contentType = out.ContentType;
    for await (const ev of out.Body ?? []) if (ev.PayloadPart?.Bytes) parts.push(ev.PayloadPart.Bytes);
    return { parts, contentType, error: undefined };
  } catch (error) {
    return { parts, contentType, error };
  }
}

const joined = (parts: Uint8Array[]): string => dec.decode(Buffer.concat(parts));

describe('groundedSam endpoint', () => {
  it('streams the service NDJSON byte for byte, cut inside lines and inside multi-byte characters', async () => {
    const prompt = 'süßer dog 🐕 . cat → 猫 .';
    const before = sm.stats();
    const { parts, contentType, error } = await streamed(prompt);
    expect(error).toBeUndefined();
    expect(contentType).toBe('application/x-ndjson');
    expect(joined(parts)).toBe(await direct(prompt));
    const lines = joined(parts).trimEnd().split('\n');
    expect(JSON.parse(lines.at(-1) ?? '')).toMatchObject({ type: 'done' });
    expect(parts.length).toBeGreaterThan(2 * lines.length);
    const after = sm.stats();
    expect(after.splitInsideJson).toBeGreaterThan(before.splitInsideJson);
    expect(after.splitInsideUtf8).toBeGreaterThan(before.splitInsideUtf8);
    expect(after.splitInsideDataPrefix).toBe(before.splitInsideDataPrefix); // no SSE here
    // Some part really ends inside a multi-byte character.
    expect(parts.some((p) => p.length > 0 && (p[p.length - 1] as number) >= 0xc2)).toBe(true);
  });

  it('InvokeEndpoint returns the whole NDJSON body with its content type', async () => {
    const out = await client.send(new InvokeEndpointCommand({ EndpointName: 'gsam', ContentType: 'application/json', Body: enc.encode(body('dog . cat .')) }));
    expect(out.ContentType).toBe('application/x-ndjson');
    expect(dec.decode(out.Body)).toBe(await direct('dog . cat .'));
  });

  it('a stream fault fires after k NDJSON lines; the directive is read from text_prompt', async () => {
    const seen = once(sm.events, 'request');
    const { parts, error } = await streamed('dog . cat . [[sim:fault=model_stream_error;after=2]]');
    expect(error).toBeInstanceOf(ModelStreamError);
    expect((error as ModelStreamError).ErrorCode).toBe('StreamBroken');
    const full = (await direct('dog . cat .')).split('\n');
    expect(joined(parts)).toBe(`${full.slice(0, 2).join('\n')}\n`);
    expect(((await seen)[0] as SageMakerRequestEvent).fault).toBe('model_stream_error');
  });

  it('a queued fault with afterEvents 0 is the first message (thrown by send())', async () => {
    await post(sm.url, '/__sim/faults', { kind: 'internal_stream_failure', afterEvents: 0 });
    const { parts, error } = await streamed('dog .');
    expect(error).toBeInstanceOf(InternalStreamFailure);
    expect(parts).toHaveLength(0);
  });

  it('Grounded-SAM kinds act in the container: a 422 becomes ModelError, an error line is relayed', async () => {
    const err = (await streamed('dog . [[sim:fault=validation]]')).error;
    expect(err).toBeInstanceOf(ModelError);
    expect(err).toMatchObject({ OriginalStatusCode: 422 });
    expect(JSON.parse((err as ModelError).OriginalMessage ?? '')).toMatchObject({ error_type: 'validation' });
    const { parts, error } = await streamed('dog . [[sim:fault=error_mid_stream]]');
    expect(error).toBeUndefined();
    expect(JSON.parse(joined(parts).trimEnd().split('\n').at(-1) ?? '')).toMatchObject({ type: 'error', error_type: 'segmentation' });
  });

  it('an endpoint without streaming support refuses the streaming route', async () => {
    const { error } = await streamed('dog .', 'gsam-plain');
    expect(error).toBeInstanceOf(ValidationError);
  });

  it('the Grounded-SAM request is aborted when the client goes away', async () => {
    const slow = await startGroundedSamSim({ detectMs: 10, perMaskMs: 2000, jitter: 0 });
    const front = await startSageMakerSim({ endpoints: { slow: { groundedSam: true, groundedSamUrl: slow.url } } });
    try {
      const closed = once(slow.events, 'request-closed');
      const res = await request(`${front.url}/endpoints/slow/invocations-response-stream`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body('dog . cat .') });
      expect(res.headers['x-amzn-sagemaker-content-type']).toBe('application/x-ndjson');
      for await (const _ of res.body) break; // the boxes line, then leave (destroys the socket)
      const t0 = performance.now();
      const [ev] = (await closed) as [GroundedSamRequestClosedEvent];
      expect(ev.completed).toBe(false);
      expect(ev.atMs - t0).toBeLessThan(100);
    } finally {
      await front.close();
      await slow.close();
    }
  });
});

// The JumpStart Whisper endpoint of the simulated SageMaker runtime, through the real AWS SDK v3
// (InvokeEndpointCommand, fake static credentials): audio/wav → {"text": [...]}, the JSON
// audio_input form, the container's 400s as ModelError, no response streaming, service faults.
import {
  InvokeEndpointCommand,
  InvokeEndpointWithResponseStreamCommand,
  ModelError,
  SageMakerRuntimeClient,
  ServiceUnavailable,
  ValidationError,
} from '@aws-sdk/client-sagemaker-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clipSamples, clipWav } from '../asr/audio.testkit.ts';
import { encodeWav } from '../asr/wav.ts';
import { startSageMakerSim, type SageMakerRequestEvent, type SageMakerSim } from './index.ts';

let sm: SageMakerSim;
let client: SageMakerRuntimeClient;

beforeAll(async () => {
  sm = await startSageMakerSim({
    endpoints: { 'whisper-sm': { whisper: true, latency: { baseMs: 5, perAudioSecondMs: 1, jitter: 0 } }, 'short-sm': { whisper: true, maxAudioS: 2, latency: { baseMs: 1, perAudioSecondMs: 0, jitter: 0 } } },
    accountId: '111122223333',
  });
  client = new SageMakerRuntimeClient({ region: 'us-east-1', endpoint: sm.url, credentials: { accessKeyId: 'AKIDSIMULATED', secretAccessKey: 'not-a-secret' }, maxAttempts: 1 });
});
afterAll(async () => {
  client.destroy();
  await sm.close();
});

async function thrown(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

const decode = (b: Uint8Array | undefined): unknown => JSON.parse(new TextDecoder().decode(b));

describe('JumpStart Whisper endpoint', () => {
  it('InvokeEndpoint with audio/wav answers {"text": ["<transcript>"]} as Python json.dumps writes it', async () => {
    const seen: SageMakerRequestEvent[] = [];
    const on = (e: SageMakerRequestEvent): void => void seen.push(e);
    sm.events.on('request', on);
    const out = await client.send(new InvokeEndpointCommand({ EndpointName: 'whisper-sm', ContentType: 'audio/wav', Body: await clipWav('segment-dog') }));
    sm.events.off('request', on);
    expect(out.ContentType).toBe('application/json');
    expect(out.InvokedProductionVariant).toBe('AllTraffic');
    expect(new TextDecoder().decode(out.Body)).toBe('{"text": [" Segment the dog in this picture."]}');
    expect(seen[0]).toMatchObject({ endpoint: 'whisper-sm', route: 'invocations', contentType: 'audio/wav', signed: true });
    // A 22050 Hz WAV is accepted too (resampled, as the HF pipeline's ffmpeg decode would).
    const out22 = await client.send(new InvokeEndpointCommand({ EndpointName: 'whisper-sm', ContentType: 'audio/wav', Body: await clipWav('what-in-image', 22_050) }));
    expect(decode(out22.Body)).toEqual({ text: [' What is in this image?'] });
  });

  it('the JSON audio_input form (raw = repr of a float list) with task translate', async () => {
    const s = await clipSamples('zh-what-picture');
    const raw = `[${Array.from(s, (v) => String(v / 32768)).join(', ')}]`;
    const body = JSON.stringify({ audio_input: { sampling_rate: 16000, raw }, language: 'chinese', task: 'translate' });
    const out = await client.send(new InvokeEndpointCommand({ EndpointName: 'whisper-sm', ContentType: 'application/json', Body: new TextEncoder().encode(body) }));
    expect(decode(out.Body)).toEqual({ text: [' What is in this picture?'] });
    const plain = await client.send(new InvokeEndpointCommand({ EndpointName: 'whisper-sm', ContentType: 'audio/wav', Body: await clipWav('zh-what-picture') }));
    expect(new TextDecoder().decode(plain.Body)).toBe('{"text": ["\\u8fd9\\u5f20\\u56fe\\u7247\\u91cc\\u6709\\u4ec0\\u4e48\\uff1f"]}');
  });

  it('a wrong content type is the container 400 wrapped in ModelError', async () => {
    const err = await thrown(client.send(new InvokeEndpointCommand({ EndpointName: 'whisper-sm', ContentType: 'audio/x-audio', Body: await clipWav('segment-dog') })));
    expect(err).toBeInstanceOf(ModelError);
    expect(err).toMatchObject({ OriginalStatusCode: 400, OriginalMessage: '{"error": "unsupported content type audio/x-audio"}', $metadata: { httpStatusCode: 424 } });
    expect((err as ModelError).message).toMatch(/^Received client error \(400\) from primary with message "\{"error": "unsupported content type audio\/x-audio"\}"/);
    // The SDK's default content type is application/octet-stream.
    expect(await thrown(client.send(new InvokeEndpointCommand({ EndpointName: 'whisper-sm', Body: new Uint8Array(10) })))).toMatchObject({
      OriginalMessage: '{"error": "unsupported content type application/octet-stream"}',
    });
  });

  it('audio over the limit, and bytes that are not audio, are 400s too', async () => {
    const long = encodeWav(new Int16Array(16_000 * 3));
    const err = await thrown(client.send(new InvokeEndpointCommand({ EndpointName: 'short-sm', ContentType: 'audio/wav', Body: long })));
    expect(err).toBeInstanceOf(ModelError);
    expect((err as ModelError).OriginalMessage).toMatch(/accepts at most 2 s/);
    const junk = await thrown(client.send(new InvokeEndpointCommand({ EndpointName: 'whisper-sm', ContentType: 'audio/wav', Body: new TextEncoder().encode('not audio') })));
    expect((junk as ModelError).OriginalMessage).toMatch(/^\{"error": "Soundfile is either not in the correct format or is malformed/);
  });

  it('no response streaming: InvokeEndpointWithResponseStream is a ValidationError', async () => {
    const err = await thrown(client.send(new InvokeEndpointWithResponseStreamCommand({ EndpointName: 'whisper-sm', ContentType: 'audio/wav', Body: await clipWav('segment-dog') })));
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as Error).message).toBe('Endpoint whisper-sm of account 111122223333 does not support response streaming.');
  });

  it('SageMaker-level faults apply before the container', async () => {
    await fetch(`${sm.url}/__sim/faults`, { method: 'POST', body: JSON.stringify({ kind: 'service_unavailable' }) });
    expect(await thrown(client.send(new InvokeEndpointCommand({ EndpointName: 'whisper-sm', ContentType: 'audio/wav', Body: await clipWav('segment-dog') })))).toBeInstanceOf(ServiceUnavailable);
  });
});

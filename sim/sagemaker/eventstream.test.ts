// Round trip of the simulator's event-stream encoder through the AWS SDK's own unmarshaller: the real
// SageMakerRuntimeClient with an in-process request handler that returns our bytes cut into small
// chunks (inside preludes, headers and CRCs), so the SDK's chunker, CRC checks, header parser and
// schema-based deserializer all run on them.
import { Readable } from 'node:stream';
import {
  InternalStreamFailure,
  InvokeEndpointWithResponseStreamCommand,
  ModelStreamError,
  SageMakerRuntimeClient,
} from '@aws-sdk/client-sagemaker-runtime';
import { describe, expect, it } from 'vitest';
import { decodeMessage, EVENT_STREAM_CONTENT_TYPE, exceptionMessage, payloadPartMessage } from './eventstream.ts';

const enc = new TextEncoder();

function clientReturning(body: Uint8Array, chunk: number): SageMakerRuntimeClient {
  const chunks: Buffer[] = [];
  for (let i = 0; i < body.length; i += chunk) chunks.push(Buffer.from(body.subarray(i, i + chunk)));
  const handler = {
    handle: () =>
      Promise.resolve({
        response: {
          statusCode: 200,
          headers: {
            'content-type': EVENT_STREAM_CONTENT_TYPE,
            'x-amzn-sagemaker-content-type': 'text/event-stream',
            'x-amzn-invoked-production-variant': 'AllTraffic',
          },
          body: Readable.from(chunks),
        },
      }),
    updateHttpClientConfig: () => undefined,
    httpHandlerConfigs: () => ({}),
    destroy: () => undefined,
  };
  return new SageMakerRuntimeClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKID', secretAccessKey: 'x' },
    requestHandler: handler,
    maxAttempts: 1,
  });
}

async function run(body: Uint8Array, chunk: number): Promise<{ parts: string[]; error: unknown; contentType?: string; variant?: string }> {
  const client = clientReturning(body, chunk);
  const parts: string[] = [];
  try {
    const out = await client.send(new InvokeEndpointWithResponseStreamCommand({ EndpointName: 'e', Body: enc.encode('{}'), ContentType: 'application/json' }));
    const decoder = new TextDecoder();
    try {
      for await (const ev of out.Body ?? []) {
        if (ev.PayloadPart?.Bytes) parts.push(decoder.decode(ev.PayloadPart.Bytes, { stream: true }));
      }
      return { parts, error: undefined, contentType: out.ContentType, variant: out.InvokedProductionVariant };
    } catch (error) {
      return { parts, error, contentType: out.ContentType, variant: out.InvokedProductionVariant };
    }
  } catch (error) {
    return { parts, error };
  } finally {
    client.destroy();
  }
}

const SSE = ['data: {"token":{"text":" Z', 'ürich"}}\n', '\n'];

describe('sim event-stream encoder ↔ SDK unmarshaller', () => {
  it('PayloadPart events come back as {PayloadPart: {Bytes}} with the exact bytes, whatever the TCP chunking', async () => {
    const body = Buffer.concat(SSE.map((s) => payloadPartMessage(enc.encode(s))));
    for (const chunk of [1, 3, 7, 16, 4096]) {
      const r = await run(body, chunk);
      expect(r.error).toBeUndefined();
      expect(r.parts).toEqual(SSE);
      expect(r.contentType).toBe('text/event-stream'); // X-Amzn-SageMaker-Content-Type → ContentType
      expect(r.variant).toBe('AllTraffic'); // x-Amzn-Invoked-Production-Variant
    }
  });

  it('a part that ends inside a UTF-8 character is delivered as raw bytes', async () => {
    const bytes = enc.encode('é東🙂');
    const body = Buffer.concat([payloadPartMessage(bytes.subarray(0, 1)), payloadPartMessage(bytes.subarray(1, 4)), payloadPartMessage(bytes.subarray(4))]);
    const client = clientReturning(body, 5);
    const out = await client.send(new InvokeEndpointWithResponseStreamCommand({ EndpointName: 'e', Body: enc.encode('{}') }));
    const got: number[] = [];
    for await (const ev of out.Body ?? []) got.push(...(ev.PayloadPart?.Bytes ?? []));
    expect(Buffer.from(got).toString('utf8')).toBe('é東🙂');
    client.destroy();
  });

  it('ModelStreamError is thrown from the iterator as the modeled class, with ErrorCode and Message', async () => {
    const body = Buffer.concat([
      payloadPartMessage(enc.encode('data: {}\n\n')),
      exceptionMessage('ModelStreamError', { Message: 'broken', ErrorCode: 'StreamBroken' }),
    ]);
    const r = await run(body, 9);
    expect(r.parts).toEqual(['data: {}\n\n']);
    expect(r.error).toBeInstanceOf(ModelStreamError);
    expect(r.error).toMatchObject({ name: 'ModelStreamError', ErrorCode: 'StreamBroken', Message: 'broken', message: 'broken' });
  });

  it('InternalStreamFailure likewise; as the first message it is thrown by send() itself', async () => {
    const r = await run(exceptionMessage('InternalStreamFailure', { Message: 'oops' }), 4);
    expect(r.error).toBeInstanceOf(InternalStreamFailure);
    expect(r.error).toMatchObject({ name: 'InternalStreamFailure', Message: 'oops' });
  });

  it('messages carry the headers SageMaker sends', () => {
    expect(decodeMessage(payloadPartMessage(enc.encode('x'))).headers).toEqual({
      ':event-type': 'PayloadPart', ':content-type': 'application/octet-stream', ':message-type': 'event',
    });
    const ex = decodeMessage(exceptionMessage('ModelStreamError', { Message: 'm', ErrorCode: 'ModelInvocationTimeExceeded' }));
    expect(ex.headers).toEqual({ ':exception-type': 'ModelStreamError', ':content-type': 'application/json', ':message-type': 'exception' });
    expect(JSON.parse(Buffer.from(ex.body).toString('utf8'))).toEqual({ Message: 'm', ErrorCode: 'ModelInvocationTimeExceeded' });
  });
});

// SageMaker Whisper adapter against a scripted runtime on loopback (the real SDK client with fake
// static credentials): the InvokeEndpoint request (route, content type, WAV body), the
// `{"text": [...]}` answer, the JSON form for language/translate, AWS error replies mapped through
// sagemaker/errors.ts, cancellation and the probe.
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ErrorCode } from '../../../protocol/errors.ts';
import type { AsrBackend, AsrEvent, AsrOptions, AsrStream } from './port.ts';
import { createSageMakerAsrBackend, invokeBody, parseWhisperAnswer } from './sagemaker.ts';
import type { SageMakerAsrConfig } from './config.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Req {
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
  closed: Promise<number>;
}
type Script = (req: Req, res: ServerResponse) => void;

async function startRuntime(script: Script): Promise<{ url: string; requests: Req[]; close(): Promise<void> }> {
  const requests: Req[] = [];
  const server = createServer((raw, res) => {
    const chunks: Buffer[] = [];
    const closed = new Promise<number>((resolve) => res.once('close', () => resolve(performance.now())));
    raw.on('data', (c: Buffer) => chunks.push(c));
    raw.on('end', () => {
      const r = { url: raw.url ?? '', headers: raw.headers, body: Buffer.concat(chunks), closed };
      requests.push(r);
      script(r, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

function awsError(res: ServerResponse, status: number, type: string, body: Record<string, unknown>): void {
  res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.sagemaker.runtime/` });
  res.end(JSON.stringify(body));
}

const answer = (text: string): Script => (_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'x-amzn-invoked-production-variant': 'AllTraffic' });
  res.end(JSON.stringify({ text: [text] }));
};

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(script: Script, over: Partial<SageMakerAsrConfig> = {}): Promise<{ rt: Awaited<ReturnType<typeof startRuntime>>; backend: AsrBackend }> {
  const rt = await startRuntime(script);
  const backend = createSageMakerAsrBackend({
    kind: 'sagemaker', endpointName: 'whisper-ep', region: 'us-east-1', endpointUrl: rt.url,
    credentials: { accessKeyId: 'AKID', secretAccessKey: 'secret' }, partialIntervalMs: 1_000_000, requestTimeoutMs: 2000, ...over,
  });
  cleanups.push(() => rt.close(), () => backend.close());
  return { rt, backend };
}

function open(backend: AsrBackend, opts: AsrOptions = { task: 'transcribe' }): { s: AsrStream; events: AsrEvent[] } {
  const events: AsrEvent[] = [];
  const s = backend.open(opts, { onEvent: (ev) => events.push(ev) });
  cleanups.push(() => s.close());
  return { s, events };
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await sleep(2);
  }
}

function utterance(s: AsrStream, n: number): Int16Array {
  const pcm = new Int16Array(n);
  for (let i = 0; i < n; i++) pcm[i] = ((i * 37) % 4000) - 2000;
  s.speechStart(0);
  for (let off = 0; off < n; off += 320) s.write(pcm.subarray(off, Math.min(n, off + 320)));
  s.speechEnd(n);
  return pcm;
}

describe('SageMaker Whisper adapter', () => {
  it('InvokeEndpoint with ContentType audio/wav and a 16 kHz PCM16 WAV of the utterance; reads {"text": [...]}', async () => {
    const { rt, backend } = await setup(answer(' What is in this image?'));
    expect(backend.id).toBe(`sagemaker-asr:${rt.url}/whisper-ep`);
    const { s, events } = open(backend);
    const pcm = utterance(s, 8000);
    await until(() => events.length === 1);
    expect(events).toEqual([{ kind: 'final', text: 'What is in this image?' }]);
    const req = rt.requests[0] as Req;
    expect(req.url).toBe('/endpoints/whisper-ep/invocations');
    expect(req.headers['content-type']).toBe('audio/wav');
    expect(req.headers.accept).toBe('application/json');
    expect(req.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKID\//);
    const wav = req.body;
    expect(wav.toString('ascii', 0, 4)).toBe('RIFF');
    expect(wav.readUInt32LE(24)).toBe(16000);
    expect(wav.readUInt32LE(40)).toBe(pcm.length * 2);
    expect(wav.readInt16LE(44 + 2 * 777)).toBe(pcm[777]);
  });

  it('uses the container JSON form when a language or the translate task is asked for', async () => {
    const { rt, backend } = await setup(answer('What is in this picture?'));
    const { s, events } = open(backend, { task: 'translate', language: 'zh' });
    utterance(s, 1600);
    await until(() => events.length === 1);
    expect(events).toEqual([{ kind: 'final', text: 'What is in this picture?', language: 'zh' }]);
    const req = rt.requests[0] as Req;
    expect(req.headers['content-type']).toBe('application/json');
    const body = JSON.parse(req.body.toString('utf8')) as { audio_input: { sampling_rate: number; raw: string }; task: string; language: string };
    expect(body.task).toBe('translate');
    expect(body.language).toBe('zh');
    expect(body.audio_input.sampling_rate).toBe(16000);
    const raw = JSON.parse(body.audio_input.raw) as number[];
    expect(raw).toHaveLength(1600);
    expect(raw[1]).toBeCloseTo((37 - 2000) / 32768, 4);
  });

  it('invokeBody / parseWhisperAnswer', () => {
    expect(invokeBody(new Int16Array(10), { task: 'transcribe', final: true }).ContentType).toBe('audio/wav');
    expect(parseWhisperAnswer(new TextEncoder().encode('{"text":[" a b "]}'))).toEqual({ text: 'a b' });
    expect(parseWhisperAnswer(new TextEncoder().encode('{"text":"x"}'))).toEqual({ text: 'x' });
    expect(parseWhisperAnswer(new TextEncoder().encode('{"text":[]}'))).toEqual({ text: '' });
    for (const bad of ['nope', '{"transcript":"x"}', '{"text":[1]}']) {
      expect(() => parseWhisperAnswer(new TextEncoder().encode(bad))).toThrow(/protocol/);
    }
  });

  const table: [string, Script, ErrorCode][] = [
    ['ModelError 400 (unsupported content type)', (_r, res) => awsError(res, 424, 'ModelError', { Message: 'Received client error (400)', OriginalStatusCode: 400, OriginalMessage: '{"error": "unsupported content type audio/x-audio"}' }), 'UPSTREAM_REJECTED'],
    ['ModelError 500', (_r, res) => awsError(res, 424, 'ModelError', { Message: 'Received server error (500)', OriginalStatusCode: 500, OriginalMessage: 'boom' }), 'UPSTREAM_GENERATION_FAILED'],
    ['ModelError 503', (_r, res) => awsError(res, 424, 'ModelError', { Message: 'x', OriginalStatusCode: 503, OriginalMessage: 'busy' }), 'UPSTREAM_OVERLOADED'],
    ['ValidationError (no such endpoint)', (_r, res) => awsError(res, 400, 'ValidationError', { Message: 'Endpoint whisper-ep of account 123456789012 not found.' }), 'UPSTREAM_REJECTED'],
    ['ServiceUnavailable', (_r, res) => awsError(res, 503, 'ServiceUnavailable', { Message: 'x' }), 'UPSTREAM_OVERLOADED'],
    ['ThrottlingException', (_r, res) => awsError(res, 400, 'ThrottlingException', { message: 'Rate exceeded' }), 'UPSTREAM_OVERLOADED'],
    ['ModelNotReadyException', (_r, res) => awsError(res, 429, 'ModelNotReadyException', { Message: 'x' }), 'UPSTREAM_OVERLOADED'],
    ['InternalFailure', (_r, res) => awsError(res, 500, 'InternalFailure', { Message: 'x' }), 'UPSTREAM_GENERATION_FAILED'],
    ['a 200 answer that is not JSON', (_r, res) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end('not json'); }, 'UPSTREAM_PROTOCOL'],
    ['a reset before the answer', (_r, res) => res.destroy(), 'UPSTREAM_RESET'],
  ];
  for (const [name, script, code] of table) {
    it(`maps ${name} to ${code}`, async () => {
      const { backend } = await setup(script);
      const { s, events } = open(backend);
      utterance(s, 4000);
      await until(() => events.length === 1);
      const ev = events[0];
      if (ev?.kind !== 'error') throw new Error(`expected an error, got ${JSON.stringify(ev)}`);
      expect(ev.error.code).toBe(code);
      expect(ev.error.message).not.toContain('123456789012');
      // The shared mapper keeps no SDK error (its message and raw response) as the cause.
      expect(ev.error.cause).toBeUndefined();
    });
  }

  it('maps a refused connection to UPSTREAM_UNAVAILABLE and a silent endpoint to UPSTREAM_TIMEOUT', async () => {
    const rt = await startRuntime(answer('x'));
    const url = rt.url;
    await rt.close();
    const backend = createSageMakerAsrBackend({ kind: 'sagemaker', endpointName: 'ep', region: 'us-east-1', endpointUrl: url, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    cleanups.push(() => backend.close());
    const a = open(backend);
    utterance(a.s, 4000);
    await until(() => a.events.length === 1);
    expect(a.events[0]?.kind === 'error' && a.events[0].error.code).toBe('UPSTREAM_UNAVAILABLE');

    const slow = await setup(() => undefined, { requestTimeoutMs: 100 });
    const b = open(slow.backend);
    utterance(b.s, 4000);
    await until(() => b.events.length === 1);
    expect(b.events[0]?.kind === 'error' && b.events[0].error.code).toBe('UPSTREAM_TIMEOUT');
    await slow.rt.requests[0]?.closed;
  });

  it('close() aborts the request in flight (the runtime sees it closed at once)', async () => {
    const { rt, backend } = await setup(() => undefined);
    const { s, events } = open(backend);
    utterance(s, 4000);
    await until(() => rt.requests.length === 1);
    const t0 = performance.now();
    s.close();
    expect((await (rt.requests[0] as Req).closed) - t0).toBeLessThan(50);
    await sleep(20);
    expect(events).toEqual([]);
  });

  it('probe: true when region and credentials resolve (nothing sent), false without a region', async () => {
    const { rt, backend } = await setup(answer('x'));
    expect(await backend.probe(500)).toBe(true);
    expect(rt.requests).toHaveLength(0);
    const saved = { r: process.env.AWS_REGION, d: process.env.AWS_DEFAULT_REGION, p: process.env.AWS_PROFILE, c: process.env.AWS_CONFIG_FILE };
    process.env.AWS_CONFIG_FILE = '/nonexistent';
    delete process.env.AWS_REGION;
    delete process.env.AWS_DEFAULT_REGION;
    try {
      const noRegion = createSageMakerAsrBackend({ kind: 'sagemaker', endpointName: 'ep', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
      cleanups.push(() => noRegion.close());
      expect(await noRegion.probe(500)).toBe(false);
    } finally {
      for (const [k, v] of [['AWS_REGION', saved.r], ['AWS_DEFAULT_REGION', saved.d], ['AWS_PROFILE', saved.p], ['AWS_CONFIG_FILE', saved.c]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});

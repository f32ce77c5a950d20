// whisper-asr-webservice adapter against scripted HTTP servers on loopback: the request it sends
// (query, multipart field, raw s16le), the text/plain JSON answer, the error mapping, partial
// failures, cancellation seen by the server, and the probe.
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ErrorCode } from '../../../protocol/errors.ts';
import type { AsrBackend, AsrEvent, AsrOptions, AsrStream } from './port.ts';
import { createWhisperAsrBackend } from './whisper-asr.ts';
import type { WhisperAsrConfig } from './config.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Req {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
  /** Resolves when the request's socket closes or the request is aborted. */
  closed: Promise<number>;
}
type Script = (req: Req, res: ServerResponse) => void | Promise<void>;

interface Fake {
  url: string;
  requests: Req[];
  close(): Promise<void>;
}

async function startFake(script: Script): Promise<Fake> {
  const requests: Req[] = [];
  const server = createServer((raw, res) => {
    const chunks: Buffer[] = [];
    const closed = new Promise<number>((resolve) => {
      res.once('close', () => resolve(performance.now()));
    });
    raw.on('data', (c: Buffer) => chunks.push(c));
    raw.on('end', () => {
      const r: Req = { method: raw.method ?? '', url: raw.url ?? '', headers: raw.headers, body: Buffer.concat(chunks), closed };
      requests.push(r);
      void Promise.resolve(script(r, res)).catch(() => res.destroy());
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

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(script: Script, over: Partial<WhisperAsrConfig> = {}): Promise<{ fake: Fake; backend: AsrBackend }> {
  const fake = await startFake(script);
  const backend = createWhisperAsrBackend({ kind: 'whisper-asr', url: fake.url, partialIntervalMs: 1_000_000, requestTimeoutMs: 2000, ...over });
  cleanups.push(() => fake.close(), () => backend.close());
  return { fake, backend };
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

/** One utterance of `n` samples (a ramp, to check the bytes). */
function utterance(s: AsrStream, n: number, start = 0): Int16Array {
  const pcm = new Int16Array(n);
  for (let i = 0; i < n; i++) pcm[i] = (i % 2000) - 1000;
  s.speechStart(start);
  for (let off = 0; off < n; off += 320) s.write(pcm.subarray(off, Math.min(n, off + 320)));
  s.speechEnd(start + n);
  return pcm;
}

const jsonAnswer = (text: string, language = 'en'): Script => (_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'asr-engine': 'openai_whisper' });
  res.end(JSON.stringify({ text: ` ${text}`, segments: [{ id: 0, start: 0, end: 1, text: ` ${text}` }], language }));
};

/** The file part of a multipart body. */
function filePart(req: Req): { disposition: string; bytes: Buffer } {
  const ct = req.headers['content-type'] ?? '';
  const boundary = /boundary=(.+)$/.exec(ct)?.[1] ?? '';
  const body = req.body;
  const headEnd = body.indexOf('\r\n\r\n');
  const head = body.subarray(0, headEnd).toString('latin1');
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  expect(head.startsWith(`--${boundary}\r\n`)).toBe(true);
  expect(body.subarray(body.length - tail.length).equals(tail)).toBe(true);
  return { disposition: /Content-Disposition: (.*)/i.exec(head)?.[1] ?? '', bytes: body.subarray(headEnd + 4, body.length - tail.length) };
}

describe('whisper-asr-webservice adapter', () => {
  it('POSTs /asr with the options as query parameters and the utterance as raw s16le audio_file; reads JSON from text/plain', async () => {
    const { fake, backend } = await setup(jsonAnswer('Hello world.', 'en'));
    expect(backend.capabilities).toEqual({ livePartials: false, translate: true });
    const { s, events } = open(backend, { task: 'translate', language: 'zh', initialPrompt: 'VLP, Grounded-SAM', wordTimestamps: true });
    const pcm = utterance(s, 8000);
    await until(() => events.length === 1);
    expect(events).toEqual([{ kind: 'final', text: 'Hello world.', language: 'en' }]);
    const req = fake.requests[0] as Req;
    expect(req.method).toBe('POST');
    const url = new URL(req.url, 'http://x');
    expect(url.pathname).toBe('/asr');
    expect([...url.searchParams.entries()]).toEqual([
      ['encode', 'false'], ['task', 'translate'], ['language', 'zh'], ['initial_prompt', 'VLP, Grounded-SAM'], ['word_timestamps', 'true'], ['output', 'json'],
    ]);
    expect(req.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    const part = filePart(req);
    expect(part.disposition).toContain('name="audio_file"');
    // The pre-roll ring holds nothing before sample 0, so the body is exactly the utterance.
    expect(part.bytes.length).toBe(pcm.length * 2);
    expect(part.bytes.readInt16LE(0)).toBe(pcm[0]);
    expect(part.bytes.readInt16LE(2 * 1234)).toBe(pcm[1234]);
  });

  it('keeps a base path prefix and leaves out unset options', async () => {
    const fake = await startFake(jsonAnswer('x'));
    const backend = createWhisperAsrBackend({ kind: 'whisper-asr', url: `${fake.url}/whisper/` });
    cleanups.push(() => fake.close(), () => backend.close());
    const { s, events } = open(backend);
    utterance(s, 4000);
    await until(() => events.length === 1);
    expect(fake.requests[0]?.url).toBe('/whisper/asr?encode=false&task=transcribe&output=json');
    expect(backend.id).toBe(`whisper-asr:${fake.url}/whisper`);
  });

  const statusTable: [string, number, Record<string, string>, string, ErrorCode, number | undefined][] = [
    ['422 (FastAPI validation)', 422, {}, '{"detail":[{"type":"enum","loc":["query","output"],"msg":"Input should be \'txt\', \'vtt\', \'srt\', \'tsv\' or \'json\'","input":"secret"}]}', 'UPSTREAM_REJECTED', undefined],
    ['400', 400, {}, 'bad', 'UPSTREAM_REJECTED', undefined],
    ['429 with Retry-After', 429, { 'retry-after': '7' }, '', 'UPSTREAM_OVERLOADED', 7],
    ['503', 503, {}, '', 'UPSTREAM_OVERLOADED', undefined],
    ['503 with a day-long Retry-After (capped at 300 s)', 503, { 'retry-after': '86400' }, '', 'UPSTREAM_OVERLOADED', 300],
    ['500', 500, {}, 'Internal Server Error', 'UPSTREAM_GENERATION_FAILED', undefined],
    ['502', 502, {}, '', 'UPSTREAM_GENERATION_FAILED', undefined],
  ];
  for (const [name, status, headers, body, code, retryAfterS] of statusTable) {
    it(`maps a final request answered HTTP ${name} to ${code}`, async () => {
      const { backend } = await setup((_req, res) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(body);
      });
      const { s, events } = open(backend);
      utterance(s, 4000);
      await until(() => events.length === 1);
      const ev = events[0];
      if (ev?.kind !== 'error') throw new Error(`expected an error event, got ${JSON.stringify(ev)}`);
      expect(ev.error.code).toBe(code);
      expect(ev.error.retryAfterS).toBe(retryAfterS);
      expect(ev.error.message).not.toContain('secret');
      if (status === 422) expect(ev.error.message).toContain('query.output');
    });
  }

  it('maps a body that is not JSON to UPSTREAM_PROTOCOL, and JSON without text too', async () => {
    for (const body of ['Hello world', '{"segments":[]}']) {
      const { backend } = await setup((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(body);
      });
      const { s, events } = open(backend);
      utterance(s, 4000);
      await until(() => events.length === 1);
      expect(events[0]?.kind === 'error' && events[0].error.code).toBe('UPSTREAM_PROTOCOL');
    }
  });

  it('maps a refused connection to UPSTREAM_UNAVAILABLE', async () => {
    const fake = await startFake(jsonAnswer('x'));
    const url = fake.url;
    await fake.close();
    const backend = createWhisperAsrBackend({ kind: 'whisper-asr', url });
    cleanups.push(() => backend.close());
    const { s, events } = open(backend);
    utterance(s, 4000);
    await until(() => events.length === 1);
    expect(events[0]?.kind === 'error' && events[0].error.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(await backend.probe(500)).toBe(false);
  });

  it('maps a reset mid-answer to UPSTREAM_RESET and a silent server to UPSTREAM_TIMEOUT (request closed)', async () => {
    const { backend } = await setup((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100' });
      res.write('{"text": "Hel');
      setTimeout(() => res.destroy(), 10);
    });
    const { s, events } = open(backend);
    utterance(s, 4000);
    await until(() => events.length === 1);
    expect(events[0]?.kind === 'error' && events[0].error.code).toBe('UPSTREAM_RESET');

    const slow = await setup(() => undefined, { requestTimeoutMs: 100 });
    const b = open(slow.backend);
    utterance(b.s, 4000);
    await until(() => b.events.length === 1);
    expect(b.events[0]?.kind === 'error' && b.events[0].error.code).toBe('UPSTREAM_TIMEOUT');
    await slow.fake.requests[0]?.closed;
  });

  it('skips failed partial requests and still delivers the final', async () => {
    let n = 0;
    const { fake, backend } = await setup((req, res) => {
      n++;
      const final = n > 2;
      if (!final) {
        res.writeHead(503);
        res.end();
        return;
      }
      void req;
      jsonAnswer('Done.')(req, res);
    }, { partialIntervalMs: 20 });
    const { s, events } = open(backend);
    s.speechStart(0);
    for (let i = 0; i < 40; i++) s.write(new Int16Array(320).fill(100));
    await until(() => fake.requests.length === 1);
    await sleep(30);
    for (let i = 0; i < 10; i++) s.write(new Int16Array(320).fill(100));
    await until(() => fake.requests.length === 2);
    await sleep(30);
    s.speechEnd(16000);
    await until(() => events.length === 1);
    expect(events).toEqual([{ kind: 'final', text: 'Done.', language: 'en' }]);
    expect(fake.requests).toHaveLength(3);
  });

  it('close() aborts the request in flight: the server sees it closed at once, and no event follows', async () => {
    const { fake, backend } = await setup(() => undefined);
    const { s, events } = open(backend);
    utterance(s, 8000);
    await until(() => fake.requests.length === 1);
    const t0 = performance.now();
    s.close();
    const closedAt = await (fake.requests[0] as Req).closed;
    expect(closedAt - t0).toBeLessThan(50);
    await sleep(20);
    expect(events).toEqual([]);
  });

  it('speechEnd aborts the partial request in flight (the server sees it closed)', async () => {
    const { fake, backend } = await setup((req, res) => {
      if (new URL(req.url, 'http://x').searchParams.get('task') === 'transcribe' && fake.requests.length === 1) return; // partial: never answered
      jsonAnswer('Final.')(req, res);
    }, { partialIntervalMs: 20 });
    const { s, events } = open(backend);
    s.speechStart(0);
    for (let i = 0; i < 40; i++) s.write(new Int16Array(320).fill(100));
    await until(() => fake.requests.length === 1);
    s.speechEnd(12800);
    await (fake.requests[0] as Req).closed;
    await until(() => events.length === 1);
    expect(events).toEqual([{ kind: 'final', text: 'Final.', language: 'en' }]);
  });

  it('probe: GET / answered with the redirect to /docs is alive; 5xx is not', async () => {
    const ok = await setup((req, res) => {
      res.writeHead(req.url === '/' ? 307 : 404, { location: '/docs' });
      res.end();
    });
    expect(await ok.backend.probe(500)).toBe(true);
    expect(ok.fake.requests[0]?.method).toBe('GET');
    const bad = await setup((_req, res) => {
      res.writeHead(500);
      res.end();
    });
    expect(await bad.backend.probe(500)).toBe(false);
    const silent = await setup(() => undefined);
    const t0 = performance.now();
    expect(await silent.backend.probe(100)).toBe(false);
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('rejects a non-http URL and an output other than json at construction', () => {
    expect(() => createWhisperAsrBackend({ kind: 'whisper-asr', url: 'ws://x:9000' })).toThrow(/http/);
    expect(() => createWhisperAsrBackend({ kind: 'whisper-asr', url: 'http://x:9000', output: 'txt' as 'json' })).toThrow(/json/);
  });
});

// WhisperLive adapter against a scripted WebSocket server on loopback: options frame, SERVER_READY
// buffering, float32 frames, segment windows → partials and finals of the VAD's utterances,
// finalize wait and timeout, status messages and transport failures, back-pressure, close.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ErrorCode } from '../../../protocol/errors.ts';
import type { AsrBackend, AsrEvent, AsrOptions, AsrStream } from './port.ts';
import { createWhisperLiveBackend } from './whisperlive.ts';
import type { WhisperLiveConfig } from './config.ts';
import { readyOnOptions, startFakeWhisperLive } from './fake-whisperlive.testkit.ts';
import type { FakeWhisperLive, FakeWlConnection } from './fake-whisperlive.testkit.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(onConnection: ((c: FakeWlConnection) => void) | undefined = readyOnOptions, over: Partial<WhisperLiveConfig> = {}): Promise<{ wl: FakeWhisperLive; backend: AsrBackend }> {
  const wl = await startFakeWhisperLive(onConnection);
  const backend = createWhisperLiveBackend({ kind: 'whisperlive', url: wl.url, finalizeTimeoutMs: 1000, requestTimeoutMs: 2000, ...over });
  cleanups.push(() => wl.close(), () => backend.close());
  return { wl, backend };
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

/** Writes `ms` of audio (value v) in 20 ms chunks. */
function feed(s: AsrStream, ms: number, v = 1000): void {
  for (let i = 0; i < ms / 20; i++) s.write(new Int16Array(320).fill(v));
}

const seg = (start: number, end: number, text: string, completed: boolean): { start: number; end: number; text: string; completed: boolean } => ({ start, end, text, completed });

async function errorOf(events: AsrEvent[]): Promise<{ code: ErrorCode; retryAfterS: number | undefined; message: string }> {
  await until(() => events.some((e) => e.kind === 'error'));
  const ev = events.find((e) => e.kind === 'error');
  if (ev?.kind !== 'error') throw new Error('no error');
  return { code: ev.error.code, retryAfterS: ev.error.retryAfterS, message: ev.error.message };
}

describe('WhisperLive adapter', () => {
  it('sends the options frame, buffers audio until SERVER_READY, then streams float32 LE frames', async () => {
    const { wl, backend } = await setup(() => undefined, { model: 'large-v3', sendLastNSegments: 5, sameOutputThreshold: 4 });
    expect(backend.capabilities).toEqual({ livePartials: true, translate: true, readySignal: true });
    const { s } = open(backend, { task: 'translate', initialPrompt: 'VLP', wordTimestamps: true });
    const c = await wl.connection(0);
    const options = await c.options;
    expect(options).toEqual({
      uid: expect.stringMatching(/^[0-9a-f-]{36}$/) as unknown as string,
      language: null, task: 'translate', model: 'large-v3', use_vad: false, send_last_n_segments: 5,
      initial_prompt: 'VLP', word_timestamps: true, same_output_threshold: 4,
    });
    const ramp = new Int16Array(320);
    for (let i = 0; i < 320; i++) ramp[i] = i * 100 - 16000;
    for (let i = 0; i < 25; i++) expect(s.write(ramp)).toBe(true); // 0.5 s before ready: buffered
    await sleep(20);
    expect(c.sampleCount).toBe(0);
    c.ready();
    await until(() => c.sampleCount === 25 * 320);
    for (let i = 0; i < 5; i++) expect(s.write(ramp)).toBe(true);
    await until(() => c.sampleCount === 30 * 320);
    const got = c.samples();
    expect(got[0]).toBe(-16000 / 32768);
    expect(got[29 * 320 + 319]).toBe((319 * 100 - 16000) / 32768);
    // After ready each write() is one frame of its own.
    expect(c.binary.slice(-5).map((b) => b.length)).toEqual([1280, 1280, 1280, 1280, 1280]);
  });

  it('calls onReady once, at SERVER_READY (the ASR gate\'s sign of life), with no event of its own', async () => {
    const { wl, backend } = await setup(() => undefined);
    const events: AsrEvent[] = [];
    let readyCalls = 0;
    const s = backend.open({ task: 'transcribe' }, { onEvent: (ev) => events.push(ev), onReady: () => readyCalls++ });
    cleanups.push(() => s.close());
    const c = await wl.connection(0);
    await c.options;
    await sleep(20);
    expect(readyCalls).toBe(0);
    c.ready();
    await until(() => readyCalls === 1);
    c.ready(); // a repeated SERVER_READY is ignored
    await sleep(20);
    expect(readyCalls).toBe(1);
    expect(events).toEqual([]);
  });

  it('splits a very large write into frames of at most 4 s', async () => {
    const { wl, backend } = await setup();
    const { s } = open(backend);
    const c = await wl.connection(0);
    s.write(new Int16Array(320));
    await until(() => c.sampleCount === 320); // past SERVER_READY
    s.write(new Int16Array(16000 * 9));
    await until(() => c.sampleCount === 320 + 16000 * 9);
    expect(c.binary.map((b) => b.length / 4)).toEqual([320, 64000, 64000, 16000]);
  });

  it('drops the oldest audio beyond preReadyBufferMs and shifts the segment clock by it', async () => {
    const { wl, backend } = await setup(() => undefined, { preReadyBufferMs: 200, finalizeTimeoutMs: 5000 });
    const { s, events } = open(backend);
    const c = await wl.connection(0);
    await c.options;
    feed(s, 500); // 300 ms dropped: server second 0 = our sample 4800
    s.speechStart(6400); // our 0.4 s = server 0.1 s
    c.ready();
    await until(() => c.sampleCount === 3200);
    c.segments([seg(0.15, 0.4, ' Hi.', false)]);
    await until(() => events.length === 1);
    expect(events[0]).toEqual({ kind: 'partial', stable: '', unstable: 'Hi.' });
  });

  it('maps segment windows onto the utterance: completed = stable, in progress = unstable; final once the last segment completes', async () => {
    const { wl, backend } = await setup();
    const { s, events } = open(backend, { task: 'transcribe', language: 'en' });
    const c = await wl.connection(0);
    await until(() => c.texts.length === 1);
    feed(s, 1000);
    s.speechStart(16000);
    feed(s, 1500);
    // An earlier segment (before the utterance) is not part of it.
    c.segments([seg(0, 0.6, ' Noise.', true), seg(1.0, 1.5, ' Hello', false)]);
    await until(() => events.length === 1);
    c.segments([seg(0, 0.6, ' Noise.', true), seg(1.0, 1.5, ' Hello', false)]); // same text: no event
    c.segments([seg(0, 0.6, ' Noise.', true), seg(1.0, 1.8, ' Hello world.', true), seg(1.8, 2.2, ' How', false)]);
    await until(() => events.length === 2);
    s.speechEnd(16000 * 2.5);
    const endAt = performance.now();
    c.segments([seg(0, 0.6, ' Noise.', true), seg(1.0, 1.8, ' Hello world.', true), seg(1.8, 2.4, ' How are you?', false)]);
    await until(() => events.length === 3);
    c.segments([seg(0, 0.6, ' Noise.', true), seg(1.0, 1.8, ' Hello world.', true), seg(1.8, 2.5, ' How are you?', true)]);
    await until(() => events.length === 4);
    expect(performance.now() - endAt).toBeLessThan(500);
    expect(events).toEqual([
      { kind: 'partial', stable: '', unstable: 'Hello' },
      { kind: 'partial', stable: 'Hello world.', unstable: ' How' },
      { kind: 'partial', stable: 'Hello world.', unstable: ' How are you?' },
      { kind: 'final', text: 'Hello world. How are you?', language: 'en' },
    ]);
  });

  it('after finalizeTimeoutMs the final takes the in-progress text; the next utterance gets only what follows it', async () => {
    const { wl, backend } = await setup(undefined, { finalizeTimeoutMs: 100 });
    const { s, events } = open(backend);
    const c = await wl.connection(0);
    await until(() => c.texts.length === 1);
    c.send({ uid: 'u', language: 'en', language_prob: 0.98 });
    s.speechStart(0);
    feed(s, 1000);
    c.segments([seg(0, 1.0, ' What is in', false)]);
    await until(() => events.length === 1);
    s.speechEnd(16000);
    const endAt = performance.now();
    feed(s, 600);
    c.segments([seg(0, 1.2, ' What is in this image?', false)]);
    await until(() => events.length === 3);
    expect(performance.now() - endAt).toBeGreaterThanOrEqual(90);
    expect(events.slice(1)).toEqual([
      { kind: 'partial', stable: '', unstable: 'What is in this image?' },
      { kind: 'final', text: 'What is in this image?', language: 'en' },
    ]);
    // The server never saw our boundary: its segment grows into the next utterance.
    s.speechStart(16000 * 1.6);
    feed(s, 1000);
    c.segments([seg(0, 2.4, ' What is in this image? Segment the dog.', true), seg(2.4, 2.6, ' Thanks', false)]);
    await until(() => events.length === 4);
    expect(events[3]).toEqual({ kind: 'partial', stable: 'Segment the dog.', unstable: ' Thanks' });
    s.speechEnd(16000 * 2.6);
    c.segments([seg(0, 2.4, ' What is in this image? Segment the dog.', true), seg(2.4, 2.7, ' Thanks.', true)]);
    await until(() => events.length === 5);
    expect(events[4]).toEqual({ kind: 'final', text: 'Segment the dog. Thanks.', language: 'en' });
  });

  it('keeps utterances in order: the next one\'s partials wait for the previous final', async () => {
    const { wl, backend } = await setup(undefined, { finalizeTimeoutMs: 2000 });
    const { s, events } = open(backend);
    const c = await wl.connection(0);
    await until(() => c.texts.length === 1);
    s.speechStart(0);
    feed(s, 1000);
    c.segments([seg(0.05, 0.9, ' One.', false)]);
    await until(() => events.length === 1);
    s.speechEnd(16000);
    feed(s, 500);
    s.speechStart(24000);
    feed(s, 1000);
    // Still in progress for the first utterance; a segment of the second is not reported yet.
    c.segments([seg(0.05, 0.95, ' One', false)]);
    await until(() => events.length === 2);
    c.segments([seg(0.05, 0.95, ' One.', true), seg(1.5, 2.3, ' Two', false)]);
    await until(() => events.length === 4);
    expect(events).toEqual([
      { kind: 'partial', stable: '', unstable: 'One.' },
      { kind: 'partial', stable: '', unstable: 'One' },
      { kind: 'final', text: 'One.' },
      { kind: 'partial', stable: '', unstable: 'Two' },
    ]);
  });

  it('an empty utterance (no segments) ends with an empty final after the timeout; speechEnd alone gives one too', async () => {
    const { wl, backend } = await setup(undefined, { finalizeTimeoutMs: 50 });
    const { s, events } = open(backend);
    await (await wl.connection(0)).options;
    s.speechStart(0);
    feed(s, 300);
    s.speechEnd(4800);
    await until(() => events.length === 1);
    s.speechEnd(6000);
    await until(() => events.length === 2);
    expect(events).toEqual([{ kind: 'final', text: '' }, { kind: 'final', text: '' }]);
  });

  it('cuts an utterance at maxUtteranceMs', async () => {
    const { wl, backend } = await setup(undefined, { maxUtteranceMs: 1000, finalizeTimeoutMs: 50 });
    const { s, events } = open(backend);
    const c = await wl.connection(0);
    await until(() => c.texts.length === 1);
    s.speechStart(0);
    feed(s, 600);
    c.segments([seg(0, 0.6, ' One two', false)]);
    await until(() => events.length === 1);
    feed(s, 600); // passes 1 s: cut
    await until(() => events.length === 2);
    expect(events[1]).toEqual({ kind: 'final', text: 'One two' });
    c.segments([seg(0, 1.2, ' One two three', false)]);
    await until(() => events.length === 3);
    expect(events[2]).toEqual({ kind: 'partial', stable: '', unstable: 'three' });
  });

  const statusCases: [string, (c: FakeWlConnection) => void, ErrorCode, number | undefined][] = [
    ['WAIT', (c) => c.send({ uid: 'u', status: 'WAIT', message: 2.5 }), 'UPSTREAM_OVERLOADED', 150],
    ['WAIT of a day (capped at 300 s)', (c) => c.send({ uid: 'u', status: 'WAIT', message: 1440 }), 'UPSTREAM_OVERLOADED', 300],
    ['WAIT of 1e308 minutes (capped at 300 s)', (c) => c.send({ uid: 'u', status: 'WAIT', message: 1e308 }), 'UPSTREAM_OVERLOADED', 300],
    ['ERROR', (c) => c.send({ uid: 'u', status: 'ERROR', message: 'Failed to load model: huge' }), 'UPSTREAM_UNAVAILABLE', undefined],
    ['DISCONNECT', (c) => { c.ready(); c.send({ uid: 'u', message: 'DISCONNECT' }); }, 'UPSTREAM_RESET', undefined],
    ['a close mid-stream', (c) => { c.ready(); setTimeout(() => c.ws.close(1011), 10); }, 'UPSTREAM_RESET', undefined],
    ['a silent close before SERVER_READY', (c) => c.ws.close(), 'UPSTREAM_RESET', undefined],
    ['a TCP reset', (c) => { c.ready(); setTimeout(() => c.ws.terminate(), 10); }, 'UPSTREAM_RESET', undefined],
    ['malformed JSON', (c) => { c.ready(); c.send('{"segments": [oops'); }, 'UPSTREAM_PROTOCOL', undefined],
    ['a non-object message', (c) => c.send('[1,2]'), 'UPSTREAM_PROTOCOL', undefined],
    ['segments of the wrong shape', (c) => { c.ready(); c.send({ uid: 'u', segments: [{ start: 'x', end: '1.0', text: 'a' }] }); }, 'UPSTREAM_PROTOCOL', undefined],
  ];
  for (const [name, script, code, retryAfterS] of statusCases) {
    it(`maps ${name} to ${code}, and nothing follows`, async () => {
      const { wl, backend } = await setup((c) => void c.options.then(() => script(c)));
      const { s, events } = open(backend);
      feed(s, 100);
      const e = await errorOf(events);
      expect(e.code).toBe(code);
      expect(e.retryAfterS).toBe(retryAfterS);
      if (name === 'ERROR') expect(e.message).toContain('Failed to load model: huge');
      // The message (what the client's error frame says) names the capped wait too.
      if (name.startsWith('WAIT of')) expect(e.message).toBe('WhisperLive is at its client limit (WAIT, about 300 s)');
      s.speechStart(0);
      s.speechEnd(100);
      feed(s, 100);
      await sleep(30);
      expect(events.filter((ev) => ev.kind !== 'partial')).toHaveLength(1);
      await (await wl.connection(0)).closed;
    });
  }

  it('ignores WARNING, translated_segments and unknown messages', async () => {
    const { wl, backend } = await setup((c) => void c.options.then(() => {
      c.send({ uid: 'u', status: 'WARNING', message: 'TensorRT-LLM not supported on Server yet.' });
      c.ready();
      c.send({ uid: 'u', translated_segments: [] });
      c.send({ uid: 'u', something: 'new' });
    }));
    const { s, events } = open(backend);
    const c = await wl.connection(0);
    await until(() => c.texts.length === 1);
    feed(s, 100);
    await until(() => c.sampleCount === 1600);
    expect(events).toEqual([]);
  });

  it('maps a refused connection to UPSTREAM_UNAVAILABLE, an HTTP 503 upgrade answer to OVERLOADED, no SERVER_READY to TIMEOUT', async () => {
    const wl = await startFakeWhisperLive();
    const url = wl.url;
    await wl.close();
    const refused = createWhisperLiveBackend({ kind: 'whisperlive', url });
    cleanups.push(() => refused.close());
    const a = open(refused);
    expect((await errorOf(a.events)).code).toBe('UPSTREAM_UNAVAILABLE');
    expect(await refused.probe(500)).toBe(false);

    const http = createServer((_req, res) => {
      res.writeHead(503, { 'retry-after': '3' });
      res.end();
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => http.close(() => resolve())));
    const busy = createWhisperLiveBackend({ kind: 'whisperlive', url: `ws://127.0.0.1:${(http.address() as AddressInfo).port}` });
    cleanups.push(() => busy.close());
    const b = open(busy);
    expect((await errorOf(b.events)).code).toBe('UPSTREAM_OVERLOADED');

    const { backend } = await setup(() => undefined, { requestTimeoutMs: 100 });
    const c = open(backend);
    expect((await errorOf(c.events)).code).toBe('UPSTREAM_TIMEOUT');
  });

  it('carries the Retry-After of a refused upgrade (HTTP 503/429: seconds or HTTP date, at most 300 s) as retryAfterS', async () => {
    const answers: { status: number; retryAfter?: string }[] = [];
    let upgrades = 0;
    const http = createServer((_req, res) => {
      res.writeHead(500);
      res.end();
    });
    // A proxy or a server at capacity answers the upgrade request itself with a status.
    http.on('upgrade', (_req, socket) => {
      const a = answers[upgrades++] ?? { status: 503 };
      const head = [`HTTP/1.1 ${a.status} Unavailable`, 'Content-Type: text/plain', 'Content-Length: 4', 'Connection: close'];
      if (a.retryAfter !== undefined) head.push(`Retry-After: ${a.retryAfter}`);
      socket.end(`${head.join('\r\n')}\r\n\r\nbusy`);
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => http.close(() => resolve())));
    const busy = createWhisperLiveBackend({ kind: 'whisperlive', url: `ws://127.0.0.1:${(http.address() as AddressInfo).port}` });
    cleanups.push(() => busy.close());
    const refusedWith = async (a: { status: number; retryAfter?: string }): Promise<{ code: ErrorCode; retryAfterS: number | undefined; message: string }> => {
      answers.push(a);
      return errorOf(open(busy).events);
    };

    expect(await refusedWith({ status: 503, retryAfter: '30' })).toEqual({
      code: 'UPSTREAM_OVERLOADED', retryAfterS: 30, message: 'WhisperLive refused the WebSocket upgrade (HTTP 503, retry after 30 s)',
    });
    const date = await refusedWith({ status: 503, retryAfter: new Date(Date.now() + 42_000).toUTCString() });
    expect(date.retryAfterS).toBeGreaterThanOrEqual(40);
    expect(date.retryAfterS).toBeLessThanOrEqual(43);
    expect((await refusedWith({ status: 429, retryAfter: '86400' })).retryAfterS).toBe(300);
    expect(await refusedWith({ status: 503 })).toMatchObject({ code: 'UPSTREAM_OVERLOADED', retryAfterS: undefined });
    expect(await refusedWith({ status: 503, retryAfter: 'soon' })).toMatchObject({ code: 'UPSTREAM_OVERLOADED', retryAfterS: undefined });
    // Not an overload: the header is not a promise the server will take the stream later.
    expect(await refusedWith({ status: 403, retryAfter: '30' })).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', retryAfterS: undefined });
    expect(upgrades).toBe(6);
  });

  it('close() sends binary END_OF_AUDIO and closes the socket at once; no events afterwards', async () => {
    const { wl, backend } = await setup();
    const { s, events } = open(backend);
    const c = await wl.connection(0);
    await until(() => c.texts.length === 1);
    s.speechStart(0);
    feed(s, 200);
    await until(() => c.sampleCount === 3200);
    const t0 = performance.now();
    s.close();
    s.close();
    const { at, code } = await c.closed;
    expect(at - t0).toBeLessThan(50);
    expect(code).toBe(1000);
    expect(c.sawEndOfAudio).toBe(true);
    c.segments([seg(0, 0.2, ' late', false)]);
    await sleep(20);
    expect(events).toEqual([]);
    expect(s.write(new Int16Array(320))).toBe(true);
  });

  it('close() while connecting aborts the handshake without an event', async () => {
    const { wl, backend } = await setup(() => undefined);
    const { s, events } = open(backend);
    s.close();
    await sleep(50);
    expect(events).toEqual([]);
    for (const c of wl.conns) await c.closed;
  });

  it('returns false past the high-water mark while the server does not read, and calls onDrain when it catches up', async () => {
    const { wl, backend } = await setup(undefined, { highWaterMarkBytes: 64 * 1024 });
    const { s, events } = open(backend);
    const c = await wl.connection(0);
    s.write(new Int16Array(320));
    await until(() => c.sampleCount === 320); // past SERVER_READY
    let drained = 0;
    s.onDrain(() => drained++);
    c.socket.pause();
    let writes = 0;
    while (s.write(new Int16Array(320)) && writes < 100_000) writes++;
    expect(writes).toBeLessThan(100_000);
    expect(drained).toBe(0);
    c.socket.resume();
    await until(() => drained === 1);
    expect(s.write(new Int16Array(320))).toBe(true);
    await until(() => c.sampleCount === (writes + 3) * 320);
    expect(events).toEqual([]);
  });

  it('probe opens and closes a WebSocket', async () => {
    const { wl, backend } = await setup(() => undefined);
    expect(await backend.probe(500)).toBe(true);
    await (await wl.connection(0)).closed;
    expect(backend.id).toBe(wl.url.replace(/\/$/, '').replace('ws://', 'whisperlive:ws://'));
  });
});

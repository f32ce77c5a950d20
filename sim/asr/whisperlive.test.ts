// The simulated WhisperLive server against a real `ws` client on loopback: the handshake, partials
// revealed in step with the audio, completed segments after silence, END_OF_AUDIO, the language
// message, translation, WAIT, ERROR, faults, protocol errors and the counters that let tests prove
// the gateway closed its upstream.
import { once } from 'node:events';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { clipSamples, float32Bytes } from './audio.testkit.ts';
import { END_OF_AUDIO, startWhisperLiveSim, type WhisperLiveClosedEvent, type WhisperLiveSim } from './whisperlive.ts';

interface Seg {
  start: string;
  end: string;
  text: string;
  completed: boolean;
}
type Msg = { uid: string; segments?: Seg[]; message?: unknown; status?: string; language?: string; language_prob?: number; backend?: string };

class Client {
  readonly messages: Msg[] = [];
  readonly raw: string[] = [];
  readonly ws: WebSocket;
  closeCode: number | undefined;
  readonly closed: Promise<number>;
  private waiters: (() => void)[] = [];

  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.ws.on('message', (d) => {
      this.raw.push(d.toString());
      this.messages.push(JSON.parse(d.toString()) as Msg);
      for (const w of this.waiters.splice(0)) w();
    });
    this.closed = new Promise((resolve) => {
      this.ws.once('close', (code) => {
        this.closeCode = code;
        for (const w of this.waiters.splice(0)) w();
        resolve(code);
      });
    });
    this.ws.on('error', () => undefined);
  }

  async open(options: Record<string, unknown>): Promise<void> {
    if (this.ws.readyState !== WebSocket.OPEN) await once(this.ws, 'open');
    this.ws.send(JSON.stringify(options));
  }

  /** Resolves with the first message (from index `from`) that satisfies `pred`. */
  async waitFor(pred: (m: Msg) => boolean, timeoutMs = 5000, from = 0): Promise<Msg> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.slice(from).find(pred);
      if (found) return found;
      if (this.closeCode !== undefined) throw new Error(`closed (${this.closeCode}) before the expected message; got ${this.raw.join(' | ')}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timeout; got ${this.raw.join(' | ')}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  segments(): Seg[][] {
    return this.messages.filter((m) => m.segments).map((m) => m.segments as Seg[]);
  }

  /** Stream PCM16 samples as float32 frames of `frame` samples, `speedup` × faster than real time. */
  async stream(samples: Int16Array, frame = 4096, speedup = 4): Promise<void> {
    const bytes = float32Bytes(samples);
    for (let i = 0; i < samples.length; i += frame) {
      if (this.ws.readyState !== WebSocket.OPEN) return;
      this.ws.send(bytes.subarray(i * 4, Math.min(samples.length, i + frame) * 4));
      await new Promise((r) => setTimeout(r, (frame / 16 / speedup) | 0));
    }
  }
}

const silence = (ms: number): Int16Array => new Int16Array(ms * 16);
const FAST = { modelLoadMs: 40, partialEveryMs: 60, endSilenceMs: 500, finalizeDelayMs: 40, jitter: 0 } as const;

let sim: WhisperLiveSim;
const clients: Client[] = [];
function client(s: WhisperLiveSim = sim): Client {
  const c = new Client(s.url);
  clients.push(c);
  return c;
}

beforeAll(async () => {
  sim = await startWhisperLiveSim({ ...FAST, maxClients: 50 });
});
afterAll(async () => {
  for (const c of clients) c.ws.terminate();
  await sim.close();
});
beforeEach(() => {
  sim.clearFaults();
});

describe('session', () => {
  it('SERVER_READY after the model load, progressive partials, a completed segment after silence; END_OF_AUDIO closes', async () => {
    const slow = await startWhisperLiveSim({ ...FAST, modelLoadMs: 150 });
    try {
      const c = client(slow);
      const t0 = performance.now();
      await c.open({ uid: 'sess-1', language: 'en', task: 'transcribe', model: 'small', use_vad: true });
      expect(await c.waitFor((m) => m.message === 'SERVER_READY')).toEqual({ uid: 'sess-1', message: 'SERVER_READY', backend: 'faster_whisper' });
      expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
      expect(c.raw[0]).toBe('{"uid": "sess-1", "message": "SERVER_READY", "backend": "faster_whisper"}'); // Python json.dumps
      await c.stream(await clipSamples('describe-long'), 2048, 8);
      await c.stream(silence(1200), 2048, 20);
      const done = await c.waitFor((m) => m.segments?.some((s) => s.completed) ?? false);
      const final = done.segments?.find((s) => s.completed);
      expect(final?.text).toBe(' Please describe everything you can see in this photograph. Then tell me which of the objects are closest to the camera, and what colour each one is.');
      expect(final?.start).toMatch(/^0\.(28|29|30)\d$/);
      expect(Number(final?.end)).toBeGreaterThan(7.9);
      const partials = c.segments().flatMap((segs) => segs.filter((s) => !s.completed).map((s) => s.text));
      expect(new Set(partials).size).toBeGreaterThanOrEqual(6);
      for (let i = 1; i < partials.length; i++) expect((final?.text ?? '').startsWith(partials[i] as string) && (partials[i] as string).startsWith(partials[i - 1] as string)).toBe(true);
      const closedEv = once(slow.events, 'closed') as Promise<[WhisperLiveClosedEvent]>;
      const before = c.messages.length;
      c.ws.send(END_OF_AUDIO);
      expect(await c.closed).toBe(1000);
      expect(c.messages.length).toBe(before);
      const [ev] = await closedEv;
      expect(ev).toMatchObject({ uid: 'sess-1', reason: 'end_of_audio' });
      expect(slow.stats()).toMatchObject({ endOfAudio: 1, open: 0, clients: 0 });
    } finally {
      await slow.close();
    }
  });

  it('a window carries the last completed segments plus the partial; send_last_n_segments bounds it', async () => {
    const c = client();
    await c.open({ uid: 'win-1', language: 'en', task: 'transcribe', model: 'small', send_last_n_segments: 1 });
    await c.waitFor((m) => m.message === 'SERVER_READY');
    await c.stream(await clipSamples('hello-how-are-you'), 4096, 8);
    await c.stream(silence(700), 4096, 20);
    await c.waitFor((m) => m.segments?.[0]?.completed === true);
    await c.stream(await clipSamples('segment-dog'), 4096, 8);
    await c.stream(silence(700), 4096, 20);
    const last = await c.waitFor((m) => m.segments?.some((s) => s.completed && s.text.includes('dog')) ?? false);
    expect(last.segments).toEqual([expect.objectContaining({ text: ' Segment the dog in this picture.', completed: true })]);
    const mixed = c.segments().find((segs) => segs.length === 2);
    expect(mixed?.[0]).toMatchObject({ text: ' Hello, how are you today?', completed: true });
    expect(mixed?.[1]?.completed).toBe(false);
    c.ws.close();
  });

  it('an ended segment still in its finalize delay is completed in the first window that carries the next one\'s words (all but the last segment are)', async () => {
    const slowFinal = await startWhisperLiveSim({ ...FAST, finalizeDelayMs: 5000 });
    try {
      const c = client(slowFinal);
      await c.open({ uid: 'next-1', language: 'en', task: 'transcribe', model: 'small' });
      await c.waitFor((m) => m.message === 'SERVER_READY');
      await c.stream(await clipSamples('hello-how-are-you'), 4096, 8);
      await c.stream(silence(700), 4096, 20);
      // Well within the 5 s finalize delay, the next utterance begins.
      await c.stream(await clipSamples('segment-dog'), 4096, 8);
      const withDog = await c.waitFor((m) => m.segments?.some((s) => s.text.includes('dog')) ?? false, 3000);
      expect(withDog.segments?.[0]).toMatchObject({ text: ' Hello, how are you today?', completed: true });
      expect(withDog.segments?.at(-1)?.completed).toBe(false);
      // No window ever lacks the first utterance once the second one's words are out.
      for (const segs of c.segments()) {
        if (segs.some((x) => x.text.includes('dog') || x.text.includes('Segment'))) expect(segs[0]?.text).toBe(' Hello, how are you today?');
      }
    } finally {
      await slowFinal.close();
    }
  });

  it('a pause inside a clip longer than endSilenceMs splits it into two completed segments, words not repeated', async () => {
    const eager = await startWhisperLiveSim({ ...FAST, endSilenceMs: 200 });
    try {
      const c = client(eager);
      await c.open({ uid: 'split-1', language: 'en', task: 'transcribe', model: 'small' });
      await c.waitFor((m) => m.message === 'SERVER_READY');
      await c.stream(await clipSamples('describe-long'), 2048, 8);
      await c.stream(silence(600), 2048, 20);
      const last = await c.waitFor((m) => (m.segments?.filter((s) => s.completed).length ?? 0) >= 2);
      expect(last.segments?.map((s) => s.text)).toEqual([
        ' Please describe everything you can see in this photograph.',
        ' Then tell me which of the objects are closest to the camera, and what colour each one is.',
      ]);
      expect(Number(last.segments?.[1]?.start)).toBeGreaterThan(Number(last.segments?.[0]?.end));
    } finally {
      await eager.close();
    }
  });

  it('language null: a language message before the first segments; Chinese text escaped as Python does', async () => {
    const c = client();
    await c.open({ uid: 'zh-1', language: null, task: 'transcribe', model: 'large-v3' });
    await c.waitFor((m) => m.message === 'SERVER_READY');
    await c.stream(await clipSamples('zh-what-picture'), 4096, 8);
    await c.stream(silence(800), 4096, 20);
    const final = await c.waitFor((m) => m.segments?.some((s) => s.completed) ?? false);
    expect(final.segments?.[0]?.text).toBe('这张图片里有什么？');
    const langIdx = c.messages.findIndex((m) => m.language !== undefined);
    const segIdx = c.messages.findIndex((m) => m.segments !== undefined);
    expect(langIdx).toBeGreaterThan(0);
    expect(langIdx).toBeLessThan(segIdx);
    expect(c.messages[langIdx]).toMatchObject({ uid: 'zh-1', language: 'zh' });
    expect(c.messages[langIdx]?.language_prob).toBeGreaterThan(0.5);
    expect(c.raw.find((r) => r.includes('"completed": true'))).toContain('\\u8fd9\\u5f20');
    c.ws.close();
  });

  it('task translate returns the translation', async () => {
    const c = client();
    await c.open({ uid: 'tr-1', language: 'zh', task: 'translate', model: 'large-v3' });
    await c.waitFor((m) => m.message === 'SERVER_READY');
    await c.stream(await clipSamples('zh-what-picture'), 4096, 8);
    await c.stream(silence(800), 4096, 20);
    const final = await c.waitFor((m) => m.segments?.some((s) => s.completed) ?? false);
    expect(final.segments?.[0]?.text).toBe(' What is in this picture?');
    expect(c.messages.some((m) => m.language !== undefined)).toBe(false); // language was given
    c.ws.close();
  });

  it('counts frames and bytes per uid and reports the client closing its socket', async () => {
    const c = client();
    await c.open({ uid: 'count-1', language: 'en', task: 'transcribe', model: 'small' });
    await c.waitFor((m) => m.message === 'SERVER_READY');
    const frame = float32Bytes(silence(20));
    for (let i = 0; i < 25; i++) c.ws.send(frame);
    await new Promise((r) => setTimeout(r, 100));
    expect(sim.client('count-1')).toMatchObject({ frames: 25, bytes: 25 * 1280, open: true, closedReason: null });
    const closedEv = once(sim.events, 'closed') as Promise<[WhisperLiveClosedEvent]>;
    const t0 = performance.now();
    c.ws.close();
    const [ev] = await closedEv;
    expect(ev).toMatchObject({ uid: 'count-1', reason: 'client_closed', frames: 25, bytes: 32_000 });
    expect(ev.atMs - t0).toBeLessThan(100);
    expect(sim.client('count-1')).toMatchObject({ open: false, closedReason: 'client_closed' });
  });
});

describe('refusals', () => {
  it('bad JSON or a missing required key: the socket closes without any message', async () => {
    for (const first of ['{not json', JSON.stringify({ uid: 'x', language: 'en', task: 'transcribe' }), JSON.stringify({ language: 'en', task: 'transcribe', model: 'small' })]) {
      const c = client();
      await once(c.ws, 'open');
      c.ws.send(first);
      expect(await c.closed).toBe(1000);
      expect(c.messages).toEqual([]);
    }
  });

  it('max_clients: WAIT with the minutes until a slot frees, then close', async () => {
    const small = await startWhisperLiveSim({ ...FAST, maxClients: 1, maxConnectionTimeS: 300 });
    try {
      const a = client(small);
      await a.open({ uid: 'a', language: 'en', task: 'transcribe', model: 'small' });
      await a.waitFor((m) => m.message === 'SERVER_READY');
      const b = client(small);
      await b.open({ uid: 'b', language: 'en', task: 'transcribe', model: 'small' });
      expect(await b.closed).toBe(1000);
      expect(b.messages).toHaveLength(1);
      expect(b.messages[0]).toMatchObject({ uid: 'b', status: 'WAIT' });
      expect(b.messages[0]?.message as number).toBeGreaterThan(4.9);
      expect(b.messages[0]?.message as number).toBeLessThanOrEqual(5);
      expect(small.stats().rejectedFull).toBe(1);
    } finally {
      await small.close();
    }
  });

  it('a text frame or a frame that is not whole float32 samples closes the session', async () => {
    for (const bad of ['END_OF_AUDIO', Buffer.alloc(6)]) {
      const c = client();
      await c.open({ uid: `bad-${typeof bad}`, language: 'en', task: 'transcribe', model: 'small' });
      await c.waitFor((m) => m.message === 'SERVER_READY');
      c.ws.send(bad);
      expect(await c.closed).toBe(1000);
      expect(sim.client(`bad-${typeof bad}`)?.closedReason).toBe('protocol_error');
    }
  });

  it('max_connection_time: DISCONNECT on the next frame, then close', async () => {
    const short = await startWhisperLiveSim({ ...FAST, maxConnectionTimeS: 0.05 });
    try {
      const c = client(short);
      await c.open({ uid: 'old', language: 'en', task: 'transcribe', model: 'small' });
      await c.waitFor((m) => m.message === 'SERVER_READY');
      await new Promise((r) => setTimeout(r, 80));
      c.ws.send(float32Bytes(silence(20)));
      expect(await c.closed).toBe(1000);
      expect(c.messages.at(-1)).toEqual({ uid: 'old', message: 'DISCONNECT' });
      expect(short.client('old')?.closedReason).toBe('connection_time_exceeded');
    } finally {
      await short.close();
    }
  });

  it('audio_format int16 (WhisperLive HEAD) is read as PCM16', async () => {
    const c = client();
    await c.open({ uid: 'i16', language: 'en', task: 'transcribe', model: 'small', audio_format: 'int16' });
    await c.waitFor((m) => m.message === 'SERVER_READY');
    const s = await clipSamples('detect-cars');
    const bytes = Buffer.from(s.buffer, s.byteOffset, s.byteLength);
    for (let i = 0; i < bytes.length; i += 8192) {
      c.ws.send(bytes.subarray(i, i + 8192));
      await new Promise((r) => setTimeout(r, 30));
    }
    c.ws.send(Buffer.alloc(16_000 * 2));
    const final = await c.waitFor((m) => m.segments?.some((x) => x.completed) ?? false);
    expect(final.segments?.[0]?.text).toBe(' Detect the cars on the street.');
    c.ws.close();
  });

  it('a plain HTTP request gets 426 like python-websockets; apiKey requires a token', async () => {
    const res = await fetch(sim.url.replace('ws:', 'http:'));
    expect(res.status).toBe(426);
    expect(await res.text()).toContain('You cannot access a WebSocket server directly with a browser');
    const locked = await startWhisperLiveSim({ ...FAST, apiKey: 'k1' });
    try {
      const denied = new WebSocket(locked.url);
      denied.on('error', () => undefined);
      const [, response] = (await once(denied, 'unexpected-response')) as [unknown, { statusCode: number }];
      expect(response.statusCode).toBe(401);
      denied.terminate();
      const withToken = new Client(`${locked.url}/?token=k1`);
      clients.push(withToken);
      await withToken.open({ uid: 'tok', language: 'en', task: 'transcribe', model: 'small' });
      await withToken.waitFor((m) => m.message === 'SERVER_READY');
    } finally {
      await locked.close();
    }
  });
});

describe('faults', () => {
  const opts = { uid: 'f', language: 'en', task: 'transcribe', model: 'small' };

  it('model_load_error (admin route): ERROR instead of SERVER_READY, then close', async () => {
    const res = await fetch(`${sim.url.replace('ws:', 'http:')}/__sim/faults`, { method: 'POST', body: JSON.stringify({ kind: 'model_load_error' }) });
    expect(res.status).toBe(200);
    const c = client();
    await c.open({ ...opts, uid: 'f-load', model: 'large-v3' });
    expect(await c.closed).toBe(1000);
    expect(c.messages).toEqual([{ uid: 'f-load', status: 'ERROR', message: 'Failed to load model: large-v3' }]);
  });

  it('drop: the TCP connection vanishes after the first segments message (1006)', async () => {
    sim.queueFault({ kind: 'drop', afterSegments: 1 });
    const c = client();
    await c.open({ ...opts, uid: 'f-drop' });
    await c.waitFor((m) => m.message === 'SERVER_READY');
    void c.stream(await clipSamples('segment-dog'), 4096, 8);
    expect(await c.closed).toBe(1006);
    expect(c.segments()).toHaveLength(1);
    expect(sim.client('f-drop')?.closedReason).toBe('fault_drop');
  });

  it('stall: after the first segments message nothing more comes, the socket stays open and audio is still read', async () => {
    sim.queueFault({ kind: 'stall', afterSegments: 1 });
    const c = client();
    await c.open({ ...opts, uid: 'f-stall' });
    await c.waitFor((m) => m.message === 'SERVER_READY');
    await c.stream(await clipSamples('segment-dog'), 4096, 8);
    await c.stream(silence(1000), 4096, 20);
    await new Promise((r) => setTimeout(r, 200));
    expect(c.segments()).toHaveLength(1);
    expect(c.closeCode).toBeUndefined();
    expect(sim.client('f-stall')?.frames).toBeGreaterThan(10);
    c.ws.close();
  });

  it('disconnect: DISCONNECT then close', async () => {
    sim.queueFault({ kind: 'disconnect', afterSegments: 1 });
    const c = client();
    await c.open({ ...opts, uid: 'f-disc' });
    await c.waitFor((m) => m.message === 'SERVER_READY');
    void c.stream(await clipSamples('segment-dog'), 4096, 8);
    expect(await c.closed).toBe(1000);
    expect(c.messages.at(-1)).toEqual({ uid: 'f-disc', message: 'DISCONNECT' });
  });

  it('the admin route lists and clears the queue and refuses unknown kinds', async () => {
    const base = `${sim.url.replace('ws:', 'http:')}/__sim/faults`;
    await fetch(base, { method: 'POST', body: JSON.stringify({ kind: 'stall', count: 2, afterSegments: 3 }) });
    expect(await (await fetch(base)).json()).toEqual({ queued: [{ kind: 'stall', remaining: 2, afterSegments: 3 }] });
    expect(await (await fetch(base, { method: 'DELETE' })).json()).toEqual({ cleared: 2 });
    expect((await fetch(base, { method: 'POST', body: JSON.stringify({ kind: 'reset' }) })).status).toBe(400);
  });
});

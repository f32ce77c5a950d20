// Live voice end to end: spoken clips (espeak-ng) streamed as audio.chunk frames through the real
// gateway to each simulated ASR service on loopback; partials, finals, voice turns, barge-in and
// bad audio input.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AsrFinalMsg, AsrPartialMsg, ErrorMsg, GenDoneMsg, ServerMessage, TurnCancelledMsg, TurnMetricsMsg, VadMsg } from '../protocol/messages.ts';
import { ensureAudioClips, type ClipFiles } from '../sim/asr/index.ts';
import { ASR_KINDS, RawClient, startStack, type AsrKind, type Stack, type TransportKind } from './harness.ts';
import { clipPcm as clipPcmOf, start16k, streamPcm } from './voice-audio.ts';

let clips: ClipFiles;
beforeAll(async () => {
  clips = await ensureAudioClips();
}, 60_000);

const clipPcm = (name: keyof ClipFiles['wav']): Uint8Array => clipPcmOf(clips, name);




function framesOf<T extends ServerMessage>(c: RawClient, t: T['t']): T[] {
  return c.frames.filter((f) => f.t === t) as T[];
}

describe.each(ASR_KINDS.map((k) => [k] as [AsrKind]))('spoken turns through %s', (asr) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('ws', { asr });
  }, 30_000);
  afterAll(async () => {
    await stack.close();
  });

  it('a spoken question gives vad, progressive partials, one final and a streamed answer with voice marks', async () => {
    const c = await RawClient.session(stack.url);
    c.send(start16k);
    await streamPcm(c, clipPcm('hello-how-are-you'), 1.8, 200);
    const final = await c.waitFor<AsrFinalMsg>((m) => m.t === 'asr.final', 15_000);
    expect(final.text.trim()).toBe('Hello, how are you today?');
    expect(final.turn).toBe('v1');
    const vad = framesOf<VadMsg>(c, 'vad');
    expect(vad.map((v) => v.event)).toEqual(['speech_start', 'speech_end']);
    // The clips carry 300 ms of silence before the speech.
    expect(vad[0]?.at_ms).toBeGreaterThanOrEqual(200);
    expect(vad[0]?.at_ms).toBeLessThan(600);
    expect((vad[1]?.at_ms ?? 0) - (vad[0]?.at_ms ?? 0)).toBeGreaterThan(800);
    const partials = framesOf<AsrPartialMsg>(c, 'asr.partial');
    expect(partials.length).toBeGreaterThan(0);
    for (const p of partials) {
      // Every partial is (a revision of) the utterance so far: words of the final, in order.
      const words = (p.stable + p.unstable).toLowerCase().replace(/[^a-z ]/g, '').split(/\s+/).filter(Boolean);
      expect('hello how are you today'.startsWith(words.join(' ').slice(0, 3))).toBe(true);
    }
    // The final transcript starts a chat turn like a typed one.
    const started = await c.waitFor((m) => m.t === 'turn.started' && m.turn === 'v1');
    expect(started).toMatchObject({ kind: 'chat', model: 'llama-2-7b-chat' });
    const done = await c.waitFor<GenDoneMsg>((m) => m.t === 'gen.done' && m.turn === 'v1', 10_000);
    expect(done.tokens).toBeGreaterThan(0);
    const metrics = await c.waitFor<TurnMetricsMsg>((m) => m.t === 'turn.metrics' && m.turn === 'v1');
    expect(metrics.marks.speech_end).toBe(0);
    expect(metrics.marks.asr_final).toBeGreaterThan(0);
    expect(metrics.marks.first_token).toBeGreaterThan(metrics.marks.asr_final ?? Infinity);
    // Order on the wire: speech_end before the final, the final before the turn.
    const order = c.frames.map((f) => (f.t === 'vad' ? `vad:${f.event}` : f.t));
    expect(order.indexOf('vad:speech_end')).toBeLessThan(order.indexOf('asr.final'));
    expect(order.indexOf('asr.final')).toBeLessThan(order.indexOf('turn.started'));
    c.send({ t: 'audio.end' });
    c.close();
  }, 30_000);

  it('translate task: Mandarin speech becomes an English transcript', async () => {
    const c = await RawClient.session(stack.url);
    c.send({ ...start16k, language: 'zh', task: 'translate' });
    await streamPcm(c, clipPcm('zh-what-picture'), 1.8, 200);
    const final = await c.waitFor<AsrFinalMsg>((m) => m.t === 'asr.final', 15_000);
    expect(final.text.trim()).toBe('What is in this picture?');
    c.send({ t: 'audio.end' });
    c.close();
  }, 30_000);

  it('audio.end ends an utterance still in progress: its final follows', async () => {
    const c = await RawClient.session(stack.url);
    c.send(start16k);
    const pcm = clipPcm('detect-cars');
    // Cut the file's trailing silence so the VAD has not ended the utterance yet.
    await streamPcm(c, pcm.subarray(0, pcm.length - 700 * 32), 1.8);
    c.send({ t: 'audio.end' });
    const final = await c.waitFor<AsrFinalMsg>((m) => m.t === 'asr.final', 15_000);
    expect(final.text.toLowerCase()).toContain('detect the cars');
    expect(framesOf<VadMsg>(c, 'vad').map((v) => v.event)).toEqual(['speech_start', 'speech_end']);
    c.close();
  }, 30_000);
});

describe.each(['ws', 'uws'] as TransportKind[])('voice on %s: barge-in and bad audio', (transport) => {
  let stack: Stack;
  beforeAll(async () => {
    // A slow answer (about 4 s) so speech can arrive while it streams.
    stack = await startStack(transport, { asr: 'whisperlive', sim: { ttftMs: 20, itlMs: 20 } });
  }, 30_000);
  afterAll(async () => {
    await stack.close();
  });

  async function speakOver(bargeIn: 'off' | 'speech_start' | 'first_words'): Promise<{ c: RawClient; closedAt: () => number | undefined }> {
    const c = await RawClient.session(stack.url, 'vlp.v1.msgpack', { options: { barge_in: bargeIn } });
    let closedAt: number | undefined;
    stack.sim.events.once('request-closed', () => (closedAt = performance.now()));
    c.send({ t: 'turn.start', id: 'long', text: 'tell me a long story', params: { max_new_tokens: 200 } });
    await c.waitFor((m) => m.t === 'gen.token' && m.turn === 'long');
    c.send(start16k);
    void streamPcm(c, clipPcm('hello-how-are-you'), 1.8, 200);
    return { c, closedAt: () => closedAt };
  }

  it('speech_start: speech over a streaming answer cancels it (barge_in) and closes its upstream request', async () => {
    const { c, closedAt } = await speakOver('speech_start');
    const cancelled = await c.waitFor<TurnCancelledMsg>((m) => m.t === 'turn.cancelled', 5000);
    const cancelledAt = performance.now();
    expect(cancelled).toMatchObject({ turn: 'long', reason: 'barge_in' });
    const order = c.frames.map((f) => (f.t === 'vad' ? `vad:${f.event}` : f.t));
    expect(order.indexOf('vad:speech_start')).toBeLessThan(order.indexOf('turn.cancelled'));
    // Before any partial transcript: speech alone is enough with this policy.
    expect(order.indexOf('turn.cancelled')).toBeLessThan(Math.max(order.indexOf('asr.partial'), order.length));
    await expect.poll(() => closedAt(), { timeout: 1000 }).toBeDefined();
    expect((closedAt() ?? Infinity) - cancelledAt).toBeLessThan(100);
    // The spoken question then becomes the next turn.
    await c.waitFor((m) => m.t === 'gen.done' && m.turn === 'v1', 15_000);
    c.close();
  }, 30_000);

  it('first_words: the answer is cancelled only once words are recognised', async () => {
    const { c } = await speakOver('first_words');
    await c.waitFor((m) => m.t === 'turn.cancelled', 8000);
    const order = c.frames.map((f) => f.t);
    const firstPartial = c.frames.findIndex((f) => f.t === 'asr.partial' && (f.stable + f.unstable).trim().length > 0);
    expect(firstPartial).toBeGreaterThan(-1);
    expect(firstPartial).toBeLessThan(order.indexOf('turn.cancelled'));
    expect(c.frames.find((f) => f.t === 'turn.cancelled')).toMatchObject({ reason: 'barge_in' });
    c.close();
  }, 30_000);

  it('off: speech does not cancel; the final transcript supersedes a turn still running', async () => {
    const { c } = await speakOver('off');
    await c.waitFor((m) => m.t === 'asr.final', 15_000);
    const order = c.frames.map((f) => f.t);
    const cancelled = c.frames.find((f): f is TurnCancelledMsg => f.t === 'turn.cancelled');
    if (cancelled) {
      // Still streaming when the transcript was final: superseded, never barge_in.
      expect(cancelled.reason).toBe('superseded');
      expect(order.indexOf('turn.cancelled')).toBeGreaterThan(order.indexOf('asr.final'));
    } else {
      expect(c.frames.some((f) => f.t === 'gen.done' && f.turn === 'long')).toBe(true);
    }
    await c.waitFor((m) => m.t === 'gen.done' && m.turn === 'v1', 15_000);
    c.close();
  }, 30_000);

  async function expectAudioError(c: RawClient, code: string, from: number): Promise<ErrorMsg> {
    return c.waitFor<ErrorMsg>((m) => m.t === 'error' && m.code === code, 5000, from);
  }

  it('bad audio input gets its code, nothing is fatal, and the session goes on', async () => {
    const c = await RawClient.session(stack.url);
    let n = c.frames.length;
    c.send({ t: 'audio.start', format: { encoding: 'pcm16', sample_rate: 44100, channels: 1 } });
    expect(await expectAudioError(c, 'AUDIO_FORMAT_UNSUPPORTED', n)).toMatchObject({ ref: 'audio.start', fatal: false });
    n = c.frames.length;
    c.send({ t: 'audio.start', format: { encoding: 'pcm16', sample_rate: 16000, channels: 2 } });
    await expectAudioError(c, 'AUDIO_FORMAT_UNSUPPORTED', n);
    n = c.frames.length;
    c.send({ t: 'audio.start', format: { encoding: 'mulaw', sample_rate: 16000, channels: 1 } });
    await expectAudioError(c, 'AUDIO_FORMAT_UNSUPPORTED', n);
    // Still no stream: a chunk is refused as before audio.start.
    n = c.frames.length;
    c.send({ t: 'audio.chunk', data: new Uint8Array(640) });
    await expectAudioError(c, 'AUDIO_FORMAT_MISSING', n);

    c.send(start16k);
    n = c.frames.length;
    c.send({ t: 'audio.chunk', data: new Uint8Array(641) });
    expect(await expectAudioError(c, 'AUDIO_CHUNK_INVALID', n)).toMatchObject({ fatal: false, ref: 'audio.chunk' });
    n = c.frames.length;
    c.send({ t: 'audio.chunk', data: new Uint8Array(64 * 1024 + 2) });
    expect(await expectAudioError(c, 'AUDIO_CHUNK_TOO_LARGE', n)).toMatchObject({ fatal: false });
    // Far faster than real time: 12 s of audio at once; the burst allowance (3 s) then refusals.
    n = c.frames.length;
    for (let i = 0; i < 600; i++) c.send({ t: 'audio.chunk', data: new Uint8Array(640) });
    expect(await expectAudioError(c, 'AUDIO_TOO_FAST', n)).toMatchObject({ fatal: false, retryable: true });
    // Repeated errors of one code are rate-limited, not one frame per chunk.
    await new Promise((r) => setTimeout(r, 200));
    expect(c.frames.filter((f) => f.t === 'error' && f.code === 'AUDIO_TOO_FAST').length).toBeLessThan(5);
    c.send({ t: 'audio.end' });
    n = c.frames.length;
    c.send({ t: 'audio.chunk', data: new Uint8Array(640) });
    await expectAudioError(c, 'AUDIO_FORMAT_MISSING', n);

    // Corrupt Opus packets.
    c.send({ t: 'audio.start', format: { encoding: 'opus', sample_rate: 48000, channels: 1 } });
    n = c.frames.length;
    c.send({ t: 'audio.chunk', data: Uint8Array.of(0xff, 0xff, 0xff, 0x01, 0x02) });
    await expectAudioError(c, 'AUDIO_CHUNK_INVALID', n);
    c.send({ t: 'audio.end' });
    // Garbage as an Ogg stream.
    c.send({ t: 'audio.start', format: { encoding: 'ogg_opus', sample_rate: 48000, channels: 1 } });
    n = c.frames.length;
    c.send({ t: 'audio.chunk', data: new Uint8Array(4096).fill(0x41) });
    await expectAudioError(c, 'AUDIO_CHUNK_INVALID', n);
    c.send({ t: 'audio.end' });

    expect(c.closeCode).toBeUndefined();
    c.send({ t: 'turn.start', id: 'after', text: 'still here?', params: { max_new_tokens: 3 } });
    await c.waitFor((m) => m.t === 'gen.done' && m.turn === 'after');
    c.close();
  }, 30_000);

  it('a failed recognizer reaches the client as a typed error; the next speech opens a new stream', async () => {
    const c = await RawClient.session(stack.url);
    const wl = stack.asr?.whisperLive;
    if (!wl) throw new Error('stack without WhisperLive');
    wl.queueFault({ kind: 'drop', afterSegments: 1 });
    c.send(start16k);
    await streamPcm(c, clipPcm('hello-how-are-you'), 1.8, 200);
    const err = await c.waitFor<ErrorMsg>((m) => m.t === 'error' && m.ref === 'audio', 10_000);
    expect(err.code).toMatch(/^UPSTREAM_/);
    expect(err.fatal).toBe(false);
    // Audio that arrived while no recognizer stream was open is lost, and the client is told.
    const lag = await c.waitFor((m) => m.t === 'asr.lag', 5000);
    expect(lag).toMatchObject({ t: 'asr.lag' });
    if (lag.t === 'asr.lag') {
      expect(lag.dropped_ms).toBeGreaterThan(0);
      expect(lag.total_dropped_ms).toBeGreaterThanOrEqual(lag.dropped_ms);
    }
    // The stream goes on: after the backoff, speech reaches a new recognizer stream.
    await new Promise((r) => setTimeout(r, 1100));
    const before = wl.stats().connections;
    const n = c.frames.length;
    await streamPcm(c, clipPcm('what-in-image'), 1.8, 200);
    const final = await c.waitFor<AsrFinalMsg>((m) => m.t === 'asr.final', 15_000, n);
    expect(final.text.trim()).toBe('What is in this image?');
    expect(wl.stats().connections).toBe(before + 1);
    c.send({ t: 'audio.end' });
    c.close();
  }, 40_000);
});

describe('voice input without a speech recognizer', () => {
  it('audio.start → AUDIO_ASR_UNAVAILABLE', async () => {
    const stack = await startStack('ws');
    try {
      const c = await RawClient.session(stack.url);
      c.send(start16k);
      expect(await c.waitFor<ErrorMsg>((m) => m.t === 'error')).toMatchObject({ code: 'AUDIO_ASR_UNAVAILABLE', fatal: false });
      c.close();
    } finally {
      await stack.close();
    }
  });
});

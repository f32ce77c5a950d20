// Voice streams after audio.end, through the real gateway and the simulated WhisperLive on
// loopback: a session keeps at most one stream waiting for its final transcript (an earlier one is
// closed, its final dropped without a frame), the session's close closes it, the voice-stream
// gauge counts it until it has closed, and it outlives a lost connection for a resuming client.
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AsrFinalMsg, ErrorMsg, ReadyMsg, ServerMessage } from '../protocol/messages.ts';
import { ensureAudioClips, type ClipFiles } from '../sim/asr/index.ts';
import type { WhisperLiveSim } from '../sim/asr/index.ts';
import { RawClient, startStack, type Stack } from './harness.ts';
import { BYTES_PER_MS, clipPcm as clipPcmOf, start16k, streamPcm } from './voice-audio.ts';

let clips: ClipFiles;
beforeAll(async () => {
  clips = await ensureAudioClips();
}, 60_000);

const clipPcm = (name: keyof ClipFiles['wav']): Uint8Array => clipPcmOf(clips, name);



/** A clip without its trailing silence: the utterance is still in progress at audio.end, and the
 *  simulated recognizer (which completes a segment only after silence) keeps it in progress. */
function speechOnly(name: keyof ClipFiles['wav']): Uint8Array {
  const pcm = clipPcm(name);
  return pcm.subarray(0, pcm.length - 700 * BYTES_PER_MS);
}

/** Every client message sent so far has been handled (the gateway answers in order). */
async function settled(c: RawClient): Promise<void> {
  const n = c.frames.length;
  c.send({ t: 'ping', ts: 1 });
  await c.waitFor((m) => m.t === 'pong', 5000, n);
}

const framesOf = <T extends ServerMessage>(c: RawClient, t: T['t']): T[] => c.frames.filter((f) => f.t === t) as T[];

function whisperLive(stack: Stack): WhisperLiveSim {
  const wl = stack.asr?.whisperLive;
  if (!wl) throw new Error('stack without WhisperLive');
  return wl;
}

async function streamsGauge(stack: Stack): Promise<number> {
  return (await stack.gw.metrics.voiceStreamsActive.get()).values[0]?.value ?? 0;
}

describe('ending voice streams: one per session, closed with the session', () => {
  let stack: Stack;
  beforeAll(async () => {
    // No resume window: a closed connection closes its session. A long finalize timeout: a final
    // of speech cut off by audio.end comes only after it, so ended streams stay waiting.
    // A large burst allowance: the cycles below send 50 s of audio at once, and the session's
    // real-time guard (shared by its streams) would otherwise refuse most of it.
    stack = await startStack('ws', { asr: 'whisperlive', config: { asr: { finalizeTimeoutMs: 4000 }, limits: { resumeWindowMs: 0 }, audio: { burstMs: 120_000 } } });
  }, 30_000);
  afterAll(async () => {
    await stack.close();
  });

  it('50 quick audio.start / loud chunk / audio.end cycles leave one recognizer stream, closed within 200 ms of the session', async () => {
    const wl = whisperLive(stack);
    const c = await RawClient.session(stack.url);
    const before = wl.stats();
    // One second of speech in one chunk.
    const loud = clipPcm('hello-how-are-you').subarray(300 * BYTES_PER_MS, 1300 * BYTES_PER_MS);
    for (let i = 0; i < 50; i++) {
      c.send(start16k);
      c.send({ t: 'audio.chunk', data: loud });
      c.send({ t: 'audio.end' });
    }
    await settled(c);
    // The last stream heard speech, ended it at audio.end and waits for its final.
    await c.waitFor((m) => m.t === 'vad' && m.event === 'speech_end', 5000);
    // Once the streams' pipelines are up: the last stream's recognizer connection is the only one
    // open, and the gauge counts it (ended, not yet closed).
    await expect.poll(async () => ({ open: wl.stats().open - before.open, gauge: await streamsGauge(stack) }), { timeout: 3000, interval: 20 }).toEqual({ open: 1, gauge: 1 });
    await new Promise((r) => setTimeout(r, 300));
    expect(wl.stats().open - before.open).toBe(1);
    expect(await streamsGauge(stack)).toBe(1);
    // Dropped finals send nothing: no final yet, and no error.
    expect(framesOf(c, 'asr.final')).toEqual([]);
    expect(framesOf(c, 'error')).toEqual([]);

    const closedAt = new Promise<number>((resolve) => wl.events.once('closed', () => resolve(performance.now())));
    const t0 = performance.now();
    c.close();
    expect((await closedAt) - t0).toBeLessThan(200);
    expect(wl.stats().open).toBe(before.open);
    await expect.poll(() => streamsGauge(stack), { timeout: 1000 }).toBe(0);
  }, 30_000);

  it('a stream ending with its own final due closes the one still waiting: that final is dropped without a frame, the newer one is transcribed', async () => {
    const wl = whisperLive(stack);
    const c = await RawClient.session(stack.url);
    const before = wl.stats().open;
    const ids: number[] = [];
    const closed: number[] = [];
    const onConnection = (e: { id: number }): void => void ids.push(e.id);
    const onClosed = (e: { id: number }): void => void closed.push(e.id);
    wl.events.on('connection', onConnection);
    wl.events.on('closed', onClosed);
    try {
      // Both utterances are cut off by audio.end: each stream then waits for its final (the
      // recognizer's finalize timeout, 4 s, gives it from the text in progress).
      c.send(start16k);
      await streamPcm(c, speechOnly('hello-how-are-you'));
      c.send({ t: 'audio.end' });
      await settled(c);
      const firstEndAt = performance.now();
      await c.waitFor((m) => m.t === 'vad' && m.event === 'speech_end', 5000);
      c.send(start16k);
      await streamPcm(c, speechOnly('detect-cars'));
      c.send({ t: 'audio.end' });
      await settled(c);
      expect(firstEndAt + 4000 - performance.now()).toBeGreaterThan(500); // the first is still waiting
      // The first stream's recognizer connection closes now, the second one's stays.
      expect(ids.length).toBe(2);
      await expect.poll(() => closed, { timeout: 1000 }).toEqual([ids[0]]);
      expect(wl.stats().open - before).toBe(1);
      expect(await streamsGauge(stack)).toBe(1);

      const final = await c.waitFor<AsrFinalMsg>((m) => m.t === 'asr.final', 10_000);
      expect(final.text.toLowerCase()).toContain('detect the cars');
      expect(final.turn).toBe('v1');
      await c.waitFor((m) => m.t === 'gen.done' && m.turn === 'v1', 10_000);
      // The first stream's final never came, and nothing told of it: no error, one voice turn.
      expect(framesOf<AsrFinalMsg>(c, 'asr.final').length).toBe(1);
      expect(framesOf(c, 'error')).toEqual([]);
      expect(framesOf(c, 'turn.started').length).toBe(1);
      await expect.poll(() => wl.stats().open, { timeout: 1000 }).toBe(before);
      expect(await streamsGauge(stack)).toBe(0);
    } finally {
      wl.events.off('connection', onConnection);
      wl.events.off('closed', onClosed);
      c.close();
    }
  }, 30_000);
});

describe('ending voice streams across a lost connection', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('ws', { asr: 'whisperlive', config: { asr: { finalizeTimeoutMs: 1000 } } });
  }, 30_000);
  afterAll(async () => {
    await stack.close();
  });

  it('a stream waiting for its final when the connection drops goes on: the resumed client gets the final and the voice turn', async () => {
    const a = await RawClient.session(stack.url);
    const ready = a.frames[0] as ReadyMsg;
    a.send(start16k);
    await streamPcm(a, speechOnly('detect-cars'));
    a.send({ t: 'audio.end' });
    await settled(a);
    a.close();
    await a.waitClose();
    expect(a.frames.some((f) => f.t === 'asr.final')).toBe(false);
    const lastSeq = Math.max(...a.frames.map((f) => f.seq));
    // The finalize timeout (1 s) passes while the session is detached.
    await new Promise((r) => setTimeout(r, 1500));
    const b = await RawClient.open(stack.url);
    b.send({ t: 'hello', resume: { session_id: ready.session_id, token: ready.resume_token, last_seq: lastSeq } });
    expect(await b.waitFor<ReadyMsg>((m) => m.t === 'ready')).toMatchObject({ resumed: true });
    const final = await b.waitFor<AsrFinalMsg>((m) => m.t === 'asr.final', 5000);
    expect(final.text.toLowerCase()).toContain('detect the cars');
    await b.waitFor((m) => m.t === 'gen.done' && m.turn === final.turn, 10_000);
    await expect.poll(() => streamsGauge(stack), { timeout: 1000 }).toBe(0);
    b.close();
  }, 30_000);
});

describe('audio.end with several utterances awaiting their finals', () => {
  let stack: Stack;
  beforeAll(async () => {
    // A slow recognizer (1.2 s from an utterance's end to its final, within the gateway's 1.5 s
    // finalize timeout): both utterances of the stream still await their finals at audio.end.
    stack = await startStack('ws', { asr: 'whisperlive', whisperLive: { finalizeDelayMs: 1200 } });
  }, 30_000);
  afterAll(async () => {
    await stack.close();
  });

  it('the stream waits for every pending utterance: the first final does not close it', async () => {
    const c = await RawClient.session(stack.url);
    c.send(start16k);
    // Two utterances back to back at 1.8 × real time, then audio.end.
    const a = clipPcm('hello-how-are-you');
    const b = speechOnly('detect-cars');
    const both = new Uint8Array(a.length + b.length);
    both.set(a, 0);
    both.set(b, a.length);
    const finals = async (): Promise<number> => (await stack.gw.metrics.asrFinalsTotal.get()).values.reduce((n, v) => n + v.value, 0);
    await streamPcm(c, both);
    c.send({ t: 'audio.end' });
    await settled(c);
    // The stream stays open until both utterances are finalized: two finals reach the gateway.
    // (Before, the first final after audio.end closed the stream and cut the second off; whether
    // the first final lands before or after audio.end here depends on timing, so this test catches
    // that only when it lands after.)
    await expect.poll(finals, { timeout: 15_000, interval: 50 }).toBe(2);
    // Both utterances keep their words, in order. (Before, the window holding only the second
    // utterance's partial finalized the first one empty: its words, shown in partials, were lost.)
    await expect.poll(() => framesOf<AsrFinalMsg>(c, 'asr.final').length, { timeout: 5000 }).toBe(2);
    const [first, second] = framesOf<AsrFinalMsg>(c, 'asr.final');
    expect(first?.text.toLowerCase()).toContain('hello, how are you');
    expect(second?.text.toLowerCase()).toContain('detect the cars');
    expect(framesOf(c, 'error')).toEqual([]);
    c.close();
  }, 30_000);
});

describe('the real-time allowance is the session\'s, not the stream\'s', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('ws', { asr: 'whisperlive' });
  }, 30_000);
  afterAll(async () => {
    await stack.close();
  });

  it('cycling audio.start does not renew the burst: 10 s of audio sent at once in 10 streams is refused past the 3 s burst', async () => {
    const c = await RawClient.session(stack.url);
    const second = clipPcm('hello-how-are-you').subarray(300 * BYTES_PER_MS, 1300 * BYTES_PER_MS);
    for (let i = 0; i < 10; i++) {
      c.send(start16k);
      c.send({ t: 'audio.chunk', data: second });
      c.send({ t: 'audio.end' });
    }
    await settled(c);
    await expect.poll(() => framesOf<ErrorMsg>(c, 'error').filter((e) => e.code === 'AUDIO_TOO_FAST').length, { timeout: 5000 }).toBeGreaterThanOrEqual(6);
    c.close();
  }, 30_000);
});

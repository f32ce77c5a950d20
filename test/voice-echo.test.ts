// Echo guard and backchannels end to end: the answer streaming back is "Hello, how are you
// today? ...", and the microphone hears the assistant say it (the espeak-ng clip of those words)
// through the real gateway and the simulated WhisperLive. With options.echo_guard the answer is not
// cancelled and the echo starts no turn; the user's own words still barge in; without the guard the
// echo does. With options.ignore_backchannels, "okay, uh-huh, yeah" over the answer is ignored too.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AsrFinalMsg, TurnCancelledMsg } from '../protocol/messages.ts';
import { ensureAudioClips, type ClipFiles } from '../sim/asr/index.ts';
import { RawClient, startStack, TRANSPORTS, type Stack } from './harness.ts';
import { startScriptedUpstream, type ScriptedUpstream } from './scripted-upstream.ts';
import { clipPcm, start16k, streamPcm } from './voice-audio.ts';

const ANSWER = `Hello, how are you today? ${'I am the assistant and this answer goes on for a while so that it is still streaming. '.repeat(12).trim()}`;

let clips: ClipFiles;
beforeAll(async () => {
  clips = await ensureAudioClips();
}, 60_000);

describe.each(TRANSPORTS)('echo guard over %s', (transport) => {
  let stack: Stack;
  let upstream: ScriptedUpstream;
  beforeAll(async () => {
    upstream = await startScriptedUpstream(ANSWER, 25); // ≈ 5 s of answer
    stack = await startStack(transport, { asr: 'whisperlive', simUrl: upstream.url });
  }, 30_000);
  afterAll(async () => {
    await stack.close();
    await upstream.close();
  });

  /** vlp_speech_ignored_total for one reason and stage. */
  async function ignored(reason: string, stage: string): Promise<number> {
    const lines = (await (await fetch(`${stack.httpBase}/metrics`)).text()).split('\n');
    const line = lines.find((l) => l.startsWith('vlp_speech_ignored_total{') && l.includes(`reason="${reason}"`) && l.includes(`stage="${stage}"`));
    return line === undefined ? 0 : Number(line.split(' ').at(-1));
  }

  /** Starts the long answer, then plays `clip` into the microphone. */
  async function speakDuringAnswer(options: { echo_guard?: boolean; ignore_backchannels?: boolean }, clip: 'hello-how-are-you' | 'segment-dog' | 'okay-uh-huh'): Promise<RawClient> {
    const c = await RawClient.session(stack.url, 'vlp.v1.msgpack', { options: { barge_in: 'first_words', ...options } });
    c.send({ t: 'turn.start', id: 'long', text: 'Greet me, then talk for a while.', params: { max_new_tokens: 400 } });
    await c.waitFor((m) => m.t === 'gen.token' && m.turn === 'long');
    c.send(start16k);
    void streamPcm(c, clipPcm(clips, clip), 1.8, 200);
    return c;
  }

  it('the answer heard back through the microphone neither barges in nor starts a turn', async () => {
    const c = await speakDuringAnswer({ echo_guard: true }, 'hello-how-are-you');
    const final = await c.waitFor<AsrFinalMsg>((m) => m.t === 'asr.final', 15_000);
    expect(final.text.trim()).toBe('Hello, how are you today?');
    const dropped = await c.waitFor<TurnCancelledMsg>((m) => m.t === 'turn.cancelled', 2000);
    expect(dropped).toEqual({ t: 'turn.cancelled', seq: dropped.seq, turn: final.turn, reason: 'echo' });
    // The answer streams on: partials with words came and went without a barge-in.
    expect(c.frames.some((f) => f.t === 'asr.partial' && (f.stable + f.unstable).trim().length > 0)).toBe(true);
    expect(c.frames.filter((f) => f.t === 'turn.cancelled' && f.turn === 'long')).toEqual([]);
    expect(c.frames.some((f) => f.t === 'turn.started' && f.turn === final.turn)).toBe(false);
    const tokensBefore = c.frames.filter((f) => f.t === 'gen.token' && f.turn === 'long').length;
    await new Promise((r) => setTimeout(r, 200));
    expect(c.frames.filter((f) => f.t === 'gen.token' && f.turn === 'long').length).toBeGreaterThan(tokensBefore);
    expect(await ignored('echo', 'final')).toBeGreaterThanOrEqual(1);
    expect(await ignored('echo', 'partial')).toBeGreaterThanOrEqual(1);
    c.send({ t: 'turn.cancel', id: 'long' });
    await c.waitFor((m) => m.t === 'turn.cancelled' && m.turn === 'long');
    c.close();
  }, 30_000);

  it('with the guard on, the user\'s own words still barge in', async () => {
    const c = await speakDuringAnswer({ echo_guard: true }, 'segment-dog');
    const cancelled = await c.waitFor<TurnCancelledMsg>((m) => m.t === 'turn.cancelled', 10_000);
    expect(cancelled).toMatchObject({ turn: 'long', reason: 'barge_in' });
    const final = await c.waitFor<AsrFinalMsg>((m) => m.t === 'asr.final', 15_000);
    expect(final.text).toMatch(/dog/i);
    // A real turn: "segment the dog" in a session without an image gets its answer, an error.
    await c.waitFor((m) => m.t === 'error' && m.turn === final.turn && m.code === 'INPUT_SEGMENT_NO_IMAGE', 5000);
    expect(c.frames.some((f) => f.t === 'turn.cancelled' && f.turn === final.turn)).toBe(false);
    c.close();
  }, 30_000);

  it('without the guard, the same echo cancels the answer and becomes a turn', async () => {
    const c = await speakDuringAnswer({}, 'hello-how-are-you');
    const cancelled = await c.waitFor<TurnCancelledMsg>((m) => m.t === 'turn.cancelled', 10_000);
    expect(cancelled).toMatchObject({ turn: 'long', reason: 'barge_in' });
    const final = await c.waitFor<AsrFinalMsg>((m) => m.t === 'asr.final', 15_000);
    await c.waitFor((m) => m.t === 'turn.started' && m.turn === final.turn, 5000);
    c.close();
  }, 30_000);

  it('with ignore_backchannels, "okay, uh-huh, yeah" while the answer plays neither barges in nor starts a turn', async () => {
    const c = await speakDuringAnswer({ ignore_backchannels: true }, 'okay-uh-huh');
    const final = await c.waitFor<AsrFinalMsg>((m) => m.t === 'asr.final', 15_000);
    expect(final.text.trim()).toBe('Okay, okay. Uh-huh, yeah.');
    const dropped = await c.waitFor<TurnCancelledMsg>((m) => m.t === 'turn.cancelled', 2000);
    expect(dropped).toMatchObject({ turn: final.turn, reason: 'backchannel' });
    expect(c.frames.some((f) => f.t === 'asr.partial' && (f.stable + f.unstable).trim().length > 0)).toBe(true);
    expect(c.frames.filter((f) => f.t === 'turn.cancelled' && f.turn === 'long')).toEqual([]);
    expect(await ignored('backchannel', 'final')).toBeGreaterThanOrEqual(1);
    c.send({ t: 'turn.cancel', id: 'long' });
    await c.waitFor((m) => m.t === 'turn.cancelled' && m.turn === 'long');
    c.close();
  }, 30_000);

  it('without it, the same backchannel cancels the answer', async () => {
    const c = await speakDuringAnswer({}, 'okay-uh-huh');
    const cancelled = await c.waitFor<TurnCancelledMsg>((m) => m.t === 'turn.cancelled', 10_000);
    expect(cancelled).toMatchObject({ turn: 'long', reason: 'barge_in' });
    c.close();
  }, 30_000);
});

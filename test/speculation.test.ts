// Speculative turns (options.speculate) end to end: segmentation starts while the user is still
// speaking, the answer starts at the end of speech; nothing speculative reaches the client before
// the final transcript commits it; discarded work closes its upstream request.
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AsrFinalMsg, ServerMessage, TurnMetricsMsg } from '../protocol/messages.ts';
import { ensureAudioClips, type ClipFiles } from '../sim/asr/index.ts';
import { parseWav } from '../src/audio/wav.ts';
import { RawClient, startStack, type Stack } from './harness.ts';

let clips: ClipFiles;
let stack: Stack;
let photo: Uint8Array;

beforeAll(async () => {
  clips = await ensureAudioClips();
  // Partials every 200 ms: the intent settles during speech even on a busy machine.
  stack = await startStack('ws', { asr: 'whisperlive', whisperLive: { partialEveryMs: 200 } });
  photo = new Uint8Array(await sharp({ create: { width: 320, height: 240, channels: 3, background: 'green' } }).png().toBuffer());
}, 60_000);
afterAll(async () => {
  await stack.close();
});

function pcm(name: keyof ClipFiles['wav']): Uint8Array {
  return parseWav(new Uint8Array(readFileSync(clips.wav[name]))).data;
}

/** Real time, as a user speaks: the simulated recognizer's partials keep wall-clock cadence. */
async function speak(c: RawClient, data: Uint8Array, speed = 1): Promise<void> {
  const all = new Uint8Array(data.length + 200 * 32);
  all.set(data);
  const t0 = performance.now();
  for (let i = 0, k = 0; i < all.length; i += 640, k++) {
    const wait = t0 + (k * 20) / speed - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    c.send({ t: 'audio.chunk', data: all.subarray(i, i + 640) });
  }
}

const order = (c: RawClient): string[] => c.frames.map((f: ServerMessage) => f.t);

async function sessionWithImage(speculate: boolean, on: Stack = stack): Promise<RawClient> {
  const c = await RawClient.session(on.url, 'vlp.v1.msgpack', { options: { speculate } });
  c.send({ t: 'image.put', id: 'photo', data: photo });
  await new Promise((r) => setTimeout(r, 100));
  c.send({ t: 'audio.start', format: { encoding: 'pcm16', sample_rate: 16000, channels: 1 } });
  return c;
}

describe('speculative turns', () => {
  it('segmentation: speculation starts before the end of speech and is committed; nothing reaches the client before asr.final', async () => {
    const requests: number[] = [];
    const onReq = (): void => void requests.push(performance.now());
    stack.gsam.events.on('request', onReq);
    try {
      const c = await sessionWithImage(true);
      await speak(c, pcm('segment-dog'));
      const final = await c.waitFor<AsrFinalMsg>((m) => m.t === 'asr.final', 15_000);
      const metrics = await c.waitFor<TurnMetricsMsg>((m) => m.t === 'turn.metrics' && m.turn === final.turn, 10_000);
      expect(metrics.counts.spec_committed).toBe(1);
      expect(metrics.counts.spec_discarded).toBe(0);
      expect(metrics.counts.masks).toBeGreaterThan(0);
      // One Grounded-SAM request in all: the speculative one, reused by the turn.
      expect(requests.length).toBe(1);
      // It started before the end of speech was even detected.
      const vadEnd = c.frames.findIndex((f) => f.t === 'vad' && f.event === 'speech_end');
      expect(vadEnd).toBeGreaterThan(-1);
      expect(metrics.marks.intent_stable).toBeLessThan(0);
      // Nothing speculative before the commit: boxes and masks come after the final transcript.
      const o = order(c);
      expect(o.indexOf('detect.boxes')).toBeGreaterThan(o.indexOf('asr.final'));
      expect(o.indexOf('mask.frame')).toBeGreaterThan(o.indexOf('asr.final'));
      expect(metrics.marks.first_mask).toBeGreaterThanOrEqual(metrics.marks.asr_final ?? 0);
      c.send({ t: 'audio.end' });
      c.close();
    } finally {
      stack.gsam.events.off('request', onReq);
    }
  }, 30_000);

  it('with speculation off the same utterance calls Grounded-SAM only after the final transcript', async () => {
    let requests = 0;
    const onReq = (): void => void requests++;
    stack.gsam.events.on('request', onReq);
    try {
      const c = await sessionWithImage(false);
      await speak(c, pcm('segment-dog'));
      const final = await c.waitFor<AsrFinalMsg>((m) => m.t === 'asr.final', 15_000);
      const metrics = await c.waitFor<TurnMetricsMsg>((m) => m.t === 'turn.metrics' && m.turn === final.turn, 10_000);
      expect(metrics.counts.spec_committed).toBe(0);
      expect(requests).toBe(1);
      // Detection (20 ms in this stack) starts only at the final transcript.
      expect((metrics.marks.first_box ?? 0) - (metrics.marks.asr_final ?? 0)).toBeGreaterThanOrEqual(15);
      c.send({ t: 'audio.end' });
      c.close();
    } finally {
      stack.gsam.events.off('request', onReq);
    }
  }, 30_000);

  it('an answer speculated at the end of speech is committed when the final transcript matches', async () => {
    let requests = 0;
    const onReq = (): void => void requests++;
    stack.sim.events.on('request', onReq);
    try {
      const c = await RawClient.session(stack.url, 'vlp.v1.msgpack', { options: { speculate: true, params: { max_new_tokens: 8 } } });
      c.send({ t: 'audio.start', format: { encoding: 'pcm16', sample_rate: 16000, channels: 1 } });
      await speak(c, pcm('hello-how-are-you'));
      const final = await c.waitFor<AsrFinalMsg>((m) => m.t === 'asr.final', 15_000);
      const metrics = await c.waitFor<TurnMetricsMsg>((m) => m.t === 'turn.metrics' && m.turn === final.turn, 10_000);
      expect(metrics.counts.spec_committed).toBe(1);
      expect(requests).toBe(1);
      const o = order(c);
      expect(o.indexOf('gen.token')).toBeGreaterThan(o.indexOf('asr.final'));
      const done = c.frames.find((f) => f.t === 'gen.done' && f.turn === final.turn);
      expect(done).toMatchObject({ tokens: 8 });
      c.send({ t: 'audio.end' });
      c.close();
    } finally {
      stack.sim.events.off('request', onReq);
    }
  }, 30_000);

  it('closing the session mid-utterance discards the speculation and closes its upstream request', async () => {
    // Detection takes 5 s here, so the speculative request is still running when the user leaves.
    const slow = await startStack('ws', { asr: 'whisperlive', gsam: { detectMs: 5000, perMaskMs: 10, jitter: 0 } });
    const closed: boolean[] = [];
    slow.gsam.events.on('request-closed', (e: { completed: boolean }) => void closed.push(e.completed));
    try {
      const c = await sessionWithImage(true, slow);
      // Speak the clip, but leave before the end of speech (the clip's last 900 ms are cut).
      const data = pcm('segment-dog');
      let started = false;
      slow.gsam.events.once('request', () => (started = true));
      await speak(c, data.subarray(0, data.length - 900 * 32));
      await expect.poll(() => started, { timeout: 3000 }).toBe(true);
      c.close();
      await expect.poll(() => closed.length, { timeout: 3000 }).toBeGreaterThan(0);
      expect(closed[0]).toBe(false);
      const m = await fetch(`${slow.httpBase}/metrics`).then((r) => r.text());
      expect(m).toMatch(/vlp_speculations_total\{outcome="discarded"\} [1-9]/);
    } finally {
      await slow.close();
    }
  }, 30_000);
});

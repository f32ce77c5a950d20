// Integration: watches over both transports, through the real gateway and the simulated
// Grounded-SAM. Camera frames are image.put; the simulator's detections are a deterministic function
// of the image bytes, so the test picks frames with and without a "bird" by asking that function.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { RawClient, startStack, TRANSPORTS, type Stack } from './harness.ts';
import type { ErrorMsg, GenDoneMsg, ReadyMsg, TurnStartedMsg, WatchEventMsg } from '../protocol/messages.ts';
import { detect } from '../sim/grounded-sam/detect.ts';
import type { GroundedSamRequestClosedEvent } from '../sim/grounded-sam/types.ts';

const W = 96;
const H = 64;

/** The first small PNG frames (solid colours) the simulator finds a bird in, and finds none in. */
async function birdFrames(): Promise<{ bird: Uint8Array; empty: Uint8Array; birds: number }> {
  let bird: Uint8Array | undefined;
  let empty: Uint8Array | undefined;
  let birds = 0;
  for (let i = 0; i < 200 && (!bird || !empty); i++) {
    const png = new Uint8Array(await sharp({ create: { width: W, height: H, channels: 3, background: { r: i, g: 255 - i, b: (i * 7) % 256 } } }).png().toBuffer());
    const n = detect(png, ['bird'], [H, W], 0.5, 20).length;
    if (n > 0 && !bird) [bird, birds] = [png, n];
    if (n === 0 && !empty) empty = png;
  }
  if (!bird || !empty) throw new Error('no frames found');
  return { bird, empty, birds };
}

describe.each(TRANSPORTS)('watches over %s', (transport) => {
  let stack: Stack;
  let frames: Awaited<ReturnType<typeof birdFrames>>;
  beforeAll(async () => {
    // Slow masks: a request the watch leaves after its boxes is seen closed before its masks.
    stack = await startStack(transport, { gsam: { detectMs: 20, perMaskMs: 300 }, config: { limits: { resumeWindowMs: 2000 } } });
    frames = await birdFrames();
  });
  afterAll(async () => {
    await stack.close();
  });

  it('reports a bird entering and leaving the camera frames, and leaves each detection after its boxes', async () => {
    const closed: GroundedSamRequestClosedEvent[] = [];
    const onClosed = (e: GroundedSamRequestClosedEvent): void => void closed.push(e);
    stack.gsam.events.on('request-closed', onClosed);
    try {
      const c = await RawClient.session(stack.url);
      c.send({ t: 'watch.start', id: 'cam', labels: ['Bird'], interval_ms: 250, leave_frames: 2 });
      c.send({ t: 'image.put', id: 'f1', data: frames.bird });
      const enter = await c.waitFor<WatchEventMsg>((m) => m.t === 'watch.event');
      expect(enter).toMatchObject({ watch: 'cam', kind: 'enter', label: 'bird', count: frames.birds, image: 'f1', size: [H, W] });
      expect(enter.boxes).toHaveLength(frames.birds);
      for (const b of enter.boxes) {
        expect(b.label).toBe('bird');
        expect(b.box[2]).toBeLessThanOrEqual(W);
      }
      // The request was closed after its boxes, before its masks (300 ms each) were sent.
      await expect.poll(() => closed.length).toBeGreaterThanOrEqual(1);
      expect(closed[0]!.completed).toBe(false);
      // One empty frame is a flicker (leave_frames 2); the second decides the leave.
      c.send({ t: 'image.put', id: 'f2', data: frames.empty });
      await new Promise((r) => setTimeout(r, 400));
      expect(c.frames.filter((f) => f.t === 'watch.event')).toHaveLength(1);
      c.send({ t: 'image.put', id: 'f3', data: frames.empty });
      const leave = await c.waitFor<WatchEventMsg>((m) => m.t === 'watch.event' && m.kind === 'leave');
      expect(leave).toMatchObject({ watch: 'cam', label: 'bird', count: 0, image: 'f3', boxes: [] });
      expect(c.frames.filter((f) => f.t === 'error')).toEqual([]);
      const metrics = await (await fetch(`${stack.httpBase}/metrics`)).text();
      expect(metrics).toMatch(/vlp_watch_events_total\{kind="enter",turn="none"\} [1-9]/);
      expect(metrics).toMatch(/vlp_watch_detections_total\{outcome="ok"\} [3-9]/);
      c.close();
    } finally {
      stack.gsam.events.off('request-closed', onClosed);
    }
  });

  it('asks the vision model about the frame when a label enters, as turn w1; a replaced watch looks for its new labels only', async () => {
    const c = await RawClient.session(stack.url);
    c.send({ t: 'image.put', id: 'room', data: frames.empty });
    // The simulator always finds a dog: the watch starts on the session's latest image.
    c.send({ t: 'watch.start', id: 'pets', labels: ['dog'], leave_frames: 1, interval_ms: 250, ask: 'A {label} came in. What is the {label} doing?', cooldown_ms: 60_000 });
    const enter = await c.waitFor<WatchEventMsg>((m) => m.t === 'watch.event');
    expect(enter).toMatchObject({ kind: 'enter', label: 'dog', image: 'room', turn: 'w1' });
    const started = await c.waitFor<TurnStartedMsg>((m) => m.t === 'turn.started' && m.turn === 'w1');
    expect(started).toMatchObject({ kind: 'vqa', model: 'idefics-9b-instruct' });
    expect(c.frames.indexOf(enter)).toBeLessThan(c.frames.indexOf(started));
    const done = await c.waitFor<GenDoneMsg>((m) => m.t === 'gen.done' && m.turn === 'w1', 10_000);
    expect(done.tokens).toBeGreaterThan(0);
    // Replacing the watch (same id) starts over with the new labels: nothing is ever seen.
    c.send({ t: 'watch.start', id: 'pets', labels: ['unicorn'], leave_frames: 1, interval_ms: 250, ask: 'Describe it.' });
    c.send({ t: 'image.put', id: 'room2', data: frames.bird });
    await new Promise((r) => setTimeout(r, 400));
    expect(c.frames.filter((f) => f.t === 'watch.event')).toHaveLength(1); // never a unicorn
    c.close();
  });

  it('says turn_skipped busy when another turn is running, and starts no turn', async () => {
    const c = await RawClient.session(stack.url);
    c.send({ t: 'turn.start', id: 'long', text: 'Tell me a long story.', params: { max_new_tokens: 200 } });
    await c.waitFor((m) => m.t === 'turn.started' && m.turn === 'long');
    c.send({ t: 'watch.start', id: 'door', labels: ['person'], interval_ms: 250, leave_frames: 1, ask: 'Who is it?', cooldown_ms: 1000 });
    c.send({ t: 'image.put', id: 'p1', data: frames.bird });
    const busy = await c.waitFor<WatchEventMsg>((m) => m.t === 'watch.event');
    expect(busy).toMatchObject({ kind: 'enter', label: 'person', turn_skipped: 'busy' });
    expect(busy).not.toHaveProperty('turn');
    expect(c.frames.some((f) => f.t === 'turn.started' && f.turn !== 'long')).toBe(false);
    c.send({ t: 'turn.cancel', id: 'long' });
    await c.waitFor((m) => m.t === 'turn.cancelled' && m.turn === 'long');
    c.close();
  });

  it('refuses bad watch messages with their documented codes, and the session goes on', async () => {
    const c = await RawClient.session(stack.url);
    const expectError = async (code: string, ref: string): Promise<ErrorMsg> => {
      const from = c.frames.length;
      const e = await c.waitFor<ErrorMsg>((m) => m.t === 'error', 5000, from);
      expect(e).toMatchObject({ code, ref, fatal: false });
      return e;
    };
    const bad: Record<string, unknown>[] = [
      { t: 'watch.start', id: 'a', labels: [] },
      { t: 'watch.start', id: 'a', labels: ['dog', 'DOG'] },
      { t: 'watch.start', id: 'a', labels: ['  .  '] },
      { t: 'watch.start', id: 'a', labels: ['dog'], interval_ms: 100 },
      { t: 'watch.start', id: 'a', labels: ['dog'], box_threshold: 1 },
      { t: 'watch.start', id: 'a', labels: ['dog'], enter_frames: 0 },
      { t: 'watch.start', id: 'a', labels: ['dog'], ask: '   ' },
      { t: 'watch.start', id: 'a', labels: ['dog'], cooldown_ms: 10 },
      { t: 'watch.start', id: 'a', labels: ['dog'], every: 5 },
      { t: 'watch.start', id: 'a', labels: Array.from({ length: 9 }, (_, i) => `thing ${i}`) },
      { t: 'watch.stop' },
    ];
    for (const msg of bad) {
      c.sendRaw(c.codec.encode(msg as never));
      const tooMany = Array.isArray(msg.labels) && msg.labels.length > 8;
      const e = await expectError(tooMany ? 'PROTO_FIELD_TOO_LARGE' : 'PROTO_INVALID_FIELD', msg.t as string);
      expect(e.message).not.toMatch(/DOG|thing/); // messages name fields, never their values
    }
    c.send({ t: 'watch.stop', id: 'nope' });
    await expectError('INPUT_WATCH_NOT_FOUND', 'watch.stop');
    c.send({ t: 'watch.start', id: 'a', labels: ['dog'] });
    c.send({ t: 'watch.start', id: 'b', labels: ['cat'] });
    c.send({ t: 'watch.start', id: 'c', labels: ['car'] });
    await expectError('INPUT_WATCH_LIMIT', 'watch.start');
    c.send({ t: 'watch.stop', id: 'a' });
    c.send({ t: 'watch.start', id: 'c', labels: ['car'] }); // room again
    c.send({ t: 'turn.start', id: 't', text: 'hello', params: { max_new_tokens: 3 } });
    await c.waitFor((m) => m.t === 'gen.done' && m.turn === 't');
    expect(c.frames.filter((f) => f.t === 'error')).toHaveLength(bad.length + 2);
    c.close();
  });

  it('watched camera frames are not described by the vision model; an image put with no watch running is', async () => {
    const described = await startStack(transport, { config: { images: { describe: true } } });
    try {
      let vlmRequests = 0;
      described.vlm.events.on('request', () => void vlmRequests++);
      const c = await RawClient.session(described.url);
      c.send({ t: 'watch.start', id: 'cam', labels: ['dog'], interval_ms: 250 });
      for (let i = 0; i < 3; i++) {
        c.send({ t: 'image.put', id: `cam-${i}`, data: i % 2 === 0 ? frames.empty : frames.bird });
        await new Promise((r) => setTimeout(r, 150));
      }
      await c.waitFor((m) => m.t === 'watch.event');
      c.send({ t: 'ping', ts: 1 });
      await c.waitFor((m) => m.t === 'pong');
      expect(vlmRequests).toBe(0);
      c.send({ t: 'watch.stop', id: 'cam' });
      c.send({ t: 'image.put', id: 'photo', data: frames.bird });
      await expect.poll(() => vlmRequests, { timeout: 5000 }).toBe(1);
      // With frame_prefix, a photo uploaded while the watch runs is described, not examined.
      let detections = 0;
      described.gsam.events.on('request', () => void detections++);
      c.send({ t: 'watch.start', id: 'cam', labels: ['dog'], interval_ms: 250, frame_prefix: 'cam-' });
      c.send({ t: 'image.put', id: 'photo2', data: frames.empty });
      await expect.poll(() => vlmRequests, { timeout: 5000 }).toBe(2);
      expect(detections).toBe(0);
      c.send({ t: 'image.put', id: 'cam-9', data: frames.empty });
      await expect.poll(() => detections, { timeout: 5000 }).toBe(1);
      c.close();
    } finally {
      await described.close();
    }
  });

  it('a watch survives a resume, and the session\'s end closes its detection in flight', async () => {
    const slow = await startStack(transport, { gsam: { detectMs: 1500, perMaskMs: 10 }, config: { limits: { resumeWindowMs: 300 } } });
    try {
      const a = await RawClient.session(slow.url);
      const ready = a.frames[0] as ReadyMsg;
      a.send({ t: 'watch.start', id: 'cam', labels: ['dog'], interval_ms: 250 });
      a.send({ t: 'image.put', id: 'f1', data: frames.empty });
      await a.waitFor((m) => m.t === 'watch.event', 5000);
      a.ws.terminate();
      const b = await RawClient.open(slow.url);
      b.send({ t: 'hello', resume: { session_id: ready.session_id, token: ready.resume_token, last_seq: a.frames.at(-1)!.seq } });
      await b.waitFor((m) => m.t === 'ready');
      // The watch is still there: stopping it works, and a new one starts on the latest frame.
      b.send({ t: 'watch.stop', id: 'cam' });
      b.send({ t: 'watch.start', id: 'cam2', labels: ['dog'] });
      const request = await new Promise<number>((resolve) => slow.gsam.events.once('request', (e) => resolve(e.id)));
      const closed = new Promise<{ completed: boolean; atMs: number }>((resolve) => {
        const on = (e: GroundedSamRequestClosedEvent): void => {
          if (e.id !== request) return;
          slow.gsam.events.off('request-closed', on);
          resolve(e);
        };
        slow.gsam.events.on('request-closed', on);
      });
      b.send({ t: 'ping', ts: 1 });
      await b.waitFor((m) => m.t === 'pong');
      expect(b.frames.filter((f) => f.t === 'error')).toEqual([]);
      b.ws.terminate();
      const dropped = performance.now();
      // Detached: the resume window (300 ms) runs out, the session ends, its detection is closed
      // long before the simulator's 1.5 s detection time.
      const e = await closed;
      expect(e.completed).toBe(false);
      expect(e.atMs - dropped).toBeLessThan(1000);
    } finally {
      await slow.close();
    }
  });
});

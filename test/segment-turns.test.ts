// Integration: "segment the dog" with an image → intent.update, detect.boxes, one mask.frame per
// instance (COCO RLE inside its box), gen.done summary and turn.metrics, through the real gateway
// and the simulated Grounded-SAM; plus the clear answers for no image, nothing named, no match,
// unsupported intents, and cancellation closing the upstream request.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { RawClient, startStack, TRANSPORTS, type Stack } from './harness.ts';
import type { DetectBoxesMsg, ErrorMsg, GenDoneMsg, IntentUpdateMsg, MaskFrameMsg, TurnMetricsMsg, TurnStartedMsg } from '../protocol/messages.ts';
import { decodeCounts, stringToCounts } from '../protocol/rle.ts';

describe.each(TRANSPORTS)('segment turns over %s', (transport) => {
  let stack: Stack;
  let photo: Uint8Array;
  beforeAll(async () => {
    stack = await startStack(transport);
    photo = new Uint8Array(await sharp({ create: { width: 320, height: 240, channels: 3, background: 'white' } }).jpeg().toBuffer());
  });
  afterAll(async () => {
    await stack.close();
  });

  it('segment the dog: intent, boxes, masks inside their boxes, summary, metrics', async () => {
    const c = await RawClient.session(stack.url);
    c.send({ t: 'image.put', id: 'img', data: photo });
    c.send({ t: 'turn.start', id: 's1', text: 'segment the dog in this picture', image: 'img' });
    const done = await c.waitFor<GenDoneMsg>((m) => m.t === 'gen.done' && m.turn === 's1');
    const metrics = await c.waitFor<TurnMetricsMsg>((m) => m.t === 'turn.metrics' && m.turn === 's1');
    const frames = c.framesOf('s1');
    const intent = frames.find((f): f is IntentUpdateMsg => f.t === 'intent.update');
    expect(intent?.labels[0]?.label).toBe('segment');
    expect(intent?.keywords).toContain('dog');
    expect(frames.find((f): f is TurnStartedMsg => f.t === 'turn.started')?.kind).toBe('segment');
    const boxes = frames.find((f): f is DetectBoxesMsg => f.t === 'detect.boxes');
    expect(boxes?.size).toEqual([240, 320]);
    expect(boxes!.boxes.length).toBeGreaterThan(0);
    const masks = frames.filter((f): f is MaskFrameMsg => f.t === 'mask.frame');
    expect(masks.map((m) => m.id).sort()).toEqual(boxes!.boxes.map((b) => b.id).sort());
    // Order: boxes before the first mask.
    expect(frames.indexOf(boxes!)).toBeLessThan(frames.indexOf(masks[0]!));
    for (const m of masks) {
      const box = boxes!.boxes.find((b) => b.id === m.id)!;
      const [h, w] = m.rle.size;
      const px = decodeCounts(stringToCounts(m.rle.counts), h, w);
      let on = 0;
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          if (px[y * w + x] !== 1) continue;
          on++;
          expect(x).toBeGreaterThanOrEqual(Math.floor(box.box[0]) - 1);
          expect(x).toBeLessThanOrEqual(Math.ceil(box.box[2]) + 1);
          expect(y).toBeGreaterThanOrEqual(Math.floor(box.box[1]) - 1);
          expect(y).toBeLessThanOrEqual(Math.ceil(box.box[3]) + 1);
        }
      }
      expect(on).toBeGreaterThan(0);
    }
    expect(done.text).toMatch(/dog/);
    expect(metrics.counts).toMatchObject({ boxes: boxes!.boxes.length, masks: masks.length });
    expect(metrics.marks.first_box).toBeGreaterThan(0);
    expect(metrics.marks.first_mask).toBeGreaterThanOrEqual(metrics.marks.first_box!);
    c.close();
  });

  it('an image question still goes to the VLM (vqa), and a segmentation request without an image gets INPUT_SEGMENT_NO_IMAGE', async () => {
    const c = await RawClient.session(stack.url);
    c.send({ t: 'image.put', id: 'img', data: photo });
    c.send({ t: 'turn.start', id: 'q', text: 'What is in this image?', image: 'img', params: { max_new_tokens: 5 } });
    await c.waitFor((m) => m.t === 'gen.done' && m.turn === 'q');
    expect(c.framesOf('q').find((f): f is TurnStartedMsg => f.t === 'turn.started')?.kind).toBe('vqa');
    c.close();
    // A session that never sent an image.
    const fresh = await RawClient.session(stack.url);
    fresh.send({ t: 'turn.start', id: 'n', text: 'segment the dog' });
    expect(await fresh.waitFor<ErrorMsg>((m) => m.t === 'error' && m.turn === 'n')).toMatchObject({ code: 'INPUT_SEGMENT_NO_IMAGE', fatal: false });
    fresh.close();
  });

  it('a follow-up "now segment the cat" without an image works on the session\'s latest image', async () => {
    const c = await RawClient.session(stack.url);
    c.send({ t: 'image.put', id: 'pic', data: photo });
    c.send({ t: 'turn.start', id: 'a', text: 'segment the dog', image: 'pic' });
    await c.waitFor((m) => m.t === 'gen.done' && m.turn === 'a');
    c.send({ t: 'turn.start', id: 'b', text: 'now segment the cat' });
    const done = await c.waitFor<GenDoneMsg>((m) => m.t === 'gen.done' && m.turn === 'b');
    const boxes = c.framesOf('b').find((f): f is DetectBoxesMsg => f.t === 'detect.boxes');
    expect(boxes?.image).toBe('pic');
    expect(boxes!.boxes.every((b) => b.label === 'cat')).toBe(true);
    expect(done.text).toMatch(/cat/);
    c.close();
  });

  it('clear answers: nothing found, nothing named, and intents the fleet cannot serve', async () => {
    const c = await RawClient.session(stack.url);
    c.send({ t: 'image.put', id: 'img', data: photo });
    c.send({ t: 'turn.start', id: 'u', text: 'segment the unicorn', image: 'img' });
    const none = await c.waitFor<GenDoneMsg>((m) => m.t === 'gen.done' && m.turn === 'u');
    expect(none.text).toMatch(/could not find/);
    expect(c.framesOf('u').find((f): f is DetectBoxesMsg => f.t === 'detect.boxes')?.boxes).toEqual([]);
    c.send({ t: 'turn.start', id: 'e', text: 'segment this', image: 'img' });
    expect((await c.waitFor<GenDoneMsg>((m) => m.t === 'gen.done' && m.turn === 'e')).text).toMatch(/what to look for/);
    c.send({ t: 'turn.start', id: 'x', text: 'generate an image of a castle from this photo in the style of van gogh', image: 'img' });
    expect(await c.waitFor<ErrorMsg>((m) => m.t === 'error' && m.turn === 'x')).toMatchObject({ code: 'INPUT_INTENT_UNSUPPORTED' });
    c.close();
  });

  it('cancelling a segment turn closes the Grounded-SAM request', async () => {
    const slow = await startStack(transport);
    try {
      let closed: { completed: boolean } | undefined;
      slow.gsam.events.on('request-closed', (e) => (closed = e));
      const c = await RawClient.session(slow.url);
      c.send({ t: 'image.put', id: 'img', data: photo });
      c.send({ t: 'turn.start', id: 'k', text: 'find the cats and the dogs and the cars', image: 'img' });
      await c.waitFor((m) => m.t === 'turn.started');
      c.send({ t: 'turn.cancel', id: 'k' });
      expect(await c.waitFor((m) => m.t === 'turn.cancelled' || m.t === 'gen.done')).toBeDefined();
      for (let k = 0; k < 50 && !closed; k++) await new Promise((r) => setTimeout(r, 2));
      expect(closed).toBeDefined();
    } finally {
      await slow.close();
    }
  });
});

describe('images too large for the segmentation service', () => {
  let stack: Stack;
  let noisy: Uint8Array;
  const W = 640;
  const H = 480;
  beforeAll(async () => {
    // Limit the service's request body to 300 KB; a noisy 640×480 PNG is about 900 KB.
    stack = await startStack('ws', { config: { segmenter: { requestLimitBytes: 300_000 } } });
    const px = new Uint8Array(W * H * 3);
    let x = 1;
    for (let i = 0; i < px.length; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      px[i] = x >>> 24;
    }
    noisy = new Uint8Array(await sharp(px, { raw: { width: W, height: H, channels: 3 } }).png().toBuffer());
  });
  afterAll(async () => {
    await stack.close();
  });

  it('an image over the limit is re-encoded at its own size: boxes and masks stay in its pixels', async () => {
    expect(noisy.byteLength).toBeGreaterThan(300_000);
    const c = await RawClient.session(stack.url);
    c.send({ t: 'image.put', id: 'big', data: noisy });
    c.send({ t: 'turn.start', id: 's1', text: 'segment the dog', image: 'big' });
    const boxes = await c.waitFor<DetectBoxesMsg>((m) => m.t === 'detect.boxes', 10_000);
    expect(boxes.size).toEqual([H, W]);
    const mask = await c.waitFor<MaskFrameMsg>((m) => m.t === 'mask.frame', 5000);
    expect(mask.rle.size).toEqual([H, W]);
    c.close();
  });

  it('one that cannot fit even re-encoded gets INPUT_IMAGE_TOO_LARGE, and the session goes on', async () => {
    const tiny = await startStack('ws', { config: { segmenter: { requestLimitBytes: 20_000 } } });
    try {
      const c = await RawClient.session(tiny.url);
      c.send({ t: 'image.put', id: 'big', data: noisy });
      c.send({ t: 'turn.start', id: 's1', text: 'segment the dog', image: 'big' });
      const err = await c.waitFor<ErrorMsg>((m) => m.t === 'error', 10_000);
      expect(err).toMatchObject({ code: 'INPUT_IMAGE_TOO_LARGE', turn: 's1', fatal: false });
      expect(err.message).toMatch(/segmentation service/);
      c.send({ t: 'turn.start', id: 't2', text: 'hello', params: { max_new_tokens: 3 } });
      await c.waitFor((m) => m.t === 'gen.done' && m.turn === 't2');
      c.close();
    } finally {
      await tiny.close();
    }
  });
});

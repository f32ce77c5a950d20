// Integration: IDEFICS image turns end to end (image.put → turn.start{image} → streamed tokens from
// the simulated vlm TGI), the image checks and their error codes, and downscaling to the request limit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { createServer, type Server } from 'node:http';
import { RawClient, startStack, TRANSPORTS, type Stack } from './harness.ts';
import type { ErrorMsg, GenDoneMsg, TurnStartedMsg } from '../protocol/messages.ts';
import type { RequestEvent } from '../sim/tgi/index.ts';
import { hugeHeaderPng } from '../src/images/test-images.ts';

async function jpeg(width: number, height: number, noise = false): Promise<Uint8Array> {
  if (!noise) return new Uint8Array(await sharp({ create: { width, height, channels: 3, background: { r: 200, g: 80, b: 40 } } }).jpeg().toBuffer());
  const raw = Buffer.alloc(width * height * 3);
  for (let k = 0; k < raw.length; k++) raw[k] = (k * 2654435761) >>> 24;
  return new Uint8Array(await sharp(raw, { raw: { width, height, channels: 3 } }).jpeg({ quality: 100 }).toBuffer());
}

describe.each(TRANSPORTS)('image turns over %s', (transport) => {
  let stack: Stack;
  const vlmRequests: RequestEvent[] = [];
  let imageServer: Server;
  let imageUrl = '';
  let served = 0;
  beforeAll(async () => {
    const png = await sharp({ create: { width: 64, height: 48, channels: 3, background: 'blue' } }).png().toBuffer();
    imageServer = createServer((_req, res) => {
      served++;
      res.writeHead(200, { 'content-type': 'image/png' }).end(png);
    });
    await new Promise<void>((r) => imageServer.listen(0, '127.0.0.1', r));
    const addr = imageServer.address();
    imageUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/cat.png`;
    stack = await startStack(transport, { config: { images: { allowedHosts: ['127.0.0.1'], allowPrivate: true } } });
    stack.vlm.events.on('request', (e) => vlmRequests.push(e));
  });
  afterAll(async () => {
    await stack.close();
    imageServer.close();
  });

  it('streams an IDEFICS answer about an uploaded image (vqa turn on the vision model)', async () => {
    const c = await RawClient.session(stack.url);
    c.send({ t: 'image.put', id: 'img', data: await jpeg(320, 240) });
    c.send({ t: 'turn.start', id: 'v1', text: 'What is in this image?', image: 'img' });
    const done = await c.waitFor<GenDoneMsg>((m) => m.t === 'gen.done');
    const started = c.framesOf('v1').find((f): f is TurnStartedMsg => f.t === 'turn.started');
    expect(started).toMatchObject({ kind: 'vqa', model: 'idefics-9b-instruct' });
    expect(done.tokens).toBeGreaterThan(0);
    expect(done.text).not.toContain('<end_of_utterance>');
    expect(vlmRequests.length).toBeGreaterThan(0);
    c.close();
  });

  it('downscales an image that would not fit TGI\'s 2 MB request limit', async () => {
    const c = await RawClient.session(stack.url);
    const big = await jpeg(1800, 1400, true);
    expect(big.byteLength).toBeGreaterThan(1_500_000);
    const before = vlmRequests.length;
    c.send({ t: 'image.put', id: 'big', data: big });
    c.send({ t: 'turn.start', id: 'v2', text: 'Describe it', image: 'big', params: { max_new_tokens: 5 } });
    await c.waitFor((m) => m.t === 'gen.done', 15_000);
    const req = vlmRequests.slice(before)[0];
    expect(req).toBeDefined();
    expect(req!.inputsLength).toBeLessThan(2_000_000);
    c.close();
  });

  it('fetches an image by URL from an allowed host', async () => {
    const c = await RawClient.session(stack.url);
    c.send({ t: 'image.put', id: 'u', url: imageUrl });
    c.send({ t: 'turn.start', id: 'v3', text: 'What colour is it?', image: 'u', params: { max_new_tokens: 5 } });
    await c.waitFor((m) => m.t === 'gen.done');
    expect(served).toBeGreaterThan(0);
    c.close();
  });

  it('rejects bad images with their codes before any upstream call, and the session goes on', async () => {
    const c = await RawClient.session(stack.url);
    const before = vlmRequests.length;
    c.send({ t: 'image.put', id: 'junk', data: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]) });
    expect(await c.waitFor<ErrorMsg>((m) => m.t === 'error')).toMatchObject({ code: 'INPUT_IMAGE_INVALID', ref: 'image.put' });
    // A turn naming a rejected image gets the rejection's own code and reason.
    c.send({ t: 'turn.start', id: 'x1', text: 'and this?', image: 'junk' });
    expect(await c.waitFor<ErrorMsg>((m) => m.t === 'error' && m.turn === 'x1')).toMatchObject({ code: 'INPUT_IMAGE_INVALID' });
    c.send({ t: 'turn.start', id: 'x2', text: 'and this?', image: 'never-sent' });
    expect(await c.waitFor<ErrorMsg>((m) => m.t === 'error' && m.turn === 'x2')).toMatchObject({ code: 'INPUT_IMAGE_NOT_FOUND' });
    c.send({ t: 'image.put', id: 'ok', data: await jpeg(32, 32) });
    c.send({ t: 'turn.start', id: 'x3', text: 'describe', image: 'ok', model: 'llama-2-7b-chat' });
    expect(await c.waitFor<ErrorMsg>((m) => m.t === 'error' && m.turn === 'x3')).toMatchObject({ code: 'INPUT_MODEL_NOT_VISION' });
    // Absurd dimensions: a 226-byte PNG whose header claims 50000 x 50000 pixels.
    c.send({ t: 'image.put', id: 'huge', data: new Uint8Array(hugeHeaderPng()) });
    expect(await c.waitFor<ErrorMsg>((m) => m.t === 'error' && m.message.includes('huge'))).toMatchObject({ code: 'INPUT_IMAGE_TOO_LARGE' });
    c.send({ t: 'image.put', id: 'far', url: 'http://example.invalid/x.png' });
    expect(await c.waitFor<ErrorMsg>((m) => m.t === 'error' && m.message.includes('far'))).toMatchObject({ code: 'INPUT_IMAGE_URL_FORBIDDEN' });
    expect(vlmRequests.length).toBe(before);
    c.send({ t: 'turn.start', id: 'x4', text: 'plain text still works', params: { max_new_tokens: 3 } });
    await c.waitFor((m) => m.t === 'gen.done' && m.turn === 'x4');
    c.close();
  });
});

describe('background image descriptions (the seed pipeline\'s VLM step)', () => {
  it('each image.put gets one description request to the VLM, off the turn\'s critical path', async () => {
    const stack = await startStack('ws', { config: { images: { describe: true } } });
    try {
      const reqs: RequestEvent[] = [];
      stack.vlm.events.on('request', (e) => reqs.push(e));
      const png = new Uint8Array(await sharp({ create: { width: 64, height: 48, channels: 3, background: 'red' } }).png().toBuffer());
      const c = await RawClient.session(stack.url);
      c.send({ t: 'image.put', id: 'a', data: png });
      await expect.poll(() => reqs.length, { timeout: 3000 }).toBe(1);
      expect(reqs[0]?.params).toMatchObject({ max_new_tokens: 48 });
      // A segmentation turn does not wait for it, nor ask again.
      c.send({ t: 'turn.start', id: 's1', text: 'segment the dog', image: 'a' });
      await c.waitFor((m) => m.t === 'gen.done' && m.turn === 's1', 5000);
      expect(reqs.length).toBe(1);
      c.close();
    } finally {
      await stack.close();
    }
  });
});

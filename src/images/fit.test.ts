// fitImage (unchanged within budget, downscale + re-encode, aspect within 1 px, alpha, EXIF
// orientation, bounded give-up), the data-URI form TGI expects, and the base64 budget.
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { VlpError } from '../../protocol/errors.ts';
import { inspectImage } from './check.ts';
import { DEFAULT_IMAGE_LIMITS, TGI_REQUEST_LIMIT_BYTES } from './defaults.ts';
import { base64Budget, dataUri, fitImage } from './fit.ts';
import { jpeg, noise, pngAlpha, solid, webp } from './test-images.ts';

async function decoded(bytes: Uint8Array): Promise<{ format: string; width: number; height: number; hasAlpha: boolean }> {
  const m = await sharp(bytes).metadata();
  return { format: m.format, width: m.width, height: m.height, hasAlpha: m.hasAlpha };
}

describe('fitImage', () => {
  it('returns the input itself when it is within budget', async () => {
    const bytes = await jpeg(300, 200);
    const info = await inspectImage(bytes, DEFAULT_IMAGE_LIMITS);
    const out = await fitImage(bytes, info, { maxBytes: bytes.byteLength, maxSide: 300 });
    expect(out.resized).toBe(false);
    expect(out.bytes).toBe(bytes);
    expect(out).toMatchObject({ mime: 'image/jpeg', width: 300, height: 200 });
  });

  it('downscales an over-budget image to fit, keeping the aspect ratio within 1 px', async () => {
    const bytes = await noise(1600, 900).jpeg({ quality: 95 }).toBuffer();
    const info = await inspectImage(bytes, DEFAULT_IMAGE_LIMITS);
    const budget = 60_000;
    expect(bytes.byteLength).toBeGreaterThan(budget * 10);
    const out = await fitImage(bytes, info, { maxBytes: budget });
    expect(out.resized).toBe(true);
    expect(out.mime).toBe('image/jpeg');
    expect(out.bytes.byteLength).toBeLessThanOrEqual(budget);
    expect(out.width).toBeLessThan(1600);
    expect(Math.abs(out.height - (out.width * 900) / 1600)).toBeLessThanOrEqual(1);
    expect(await decoded(out.bytes)).toMatchObject({ format: 'jpeg', width: out.width, height: out.height });
  });

  it('applies maxSide even when the bytes fit', async () => {
    const bytes = await solid(2000, 500).jpeg().toBuffer();
    const info = await inspectImage(bytes, DEFAULT_IMAGE_LIMITS);
    const out = await fitImage(bytes, info, { maxBytes: 10_000_000, maxSide: 1000 });
    expect(out).toMatchObject({ resized: true, width: 1000, height: 250, mime: 'image/jpeg' });
    expect(await decoded(out.bytes)).toMatchObject({ width: 1000, height: 250 });
  });

  it('keeps an odd aspect ratio within 1 px (tall, 1 px wide sides do not vanish)', async () => {
    const bytes = await noise(3, 997).png().toBuffer();
    const info = await inspectImage(bytes, DEFAULT_IMAGE_LIMITS);
    const out = await fitImage(bytes, info, { maxBytes: 1_000_000, maxSide: 100 });
    expect(out.height).toBe(100);
    expect(out.width).toBeGreaterThanOrEqual(1);
    expect(Math.abs(out.width - (out.height * 3) / 997)).toBeLessThanOrEqual(1);
  });

  it('keeps a PNG with alpha as PNG when that fits', async () => {
    const bytes = await pngAlpha(1200, 800);
    const info = await inspectImage(bytes, DEFAULT_IMAGE_LIMITS);
    const out = await fitImage(bytes, info, { maxBytes: 1_000_000, maxSide: 600 });
    expect(out).toMatchObject({ resized: true, mime: 'image/png', width: 600, height: 400 });
    expect(await decoded(out.bytes)).toMatchObject({ format: 'png', hasAlpha: true, width: 600 });
  });

  it('flattens a noisy PNG with alpha onto white and sends JPEG when PNG does not fit', async () => {
    const bytes = await noise(400, 400, 4).png().toBuffer();
    const info = await inspectImage(bytes, DEFAULT_IMAGE_LIMITS);
    const out = await fitImage(bytes, info, { maxBytes: 40_000 });
    expect(out.mime).toBe('image/jpeg');
    expect(out.bytes.byteLength).toBeLessThanOrEqual(40_000);
    expect(await decoded(out.bytes)).toMatchObject({ format: 'jpeg', hasAlpha: false });
    // A transparent pixel comes out white.
    const clear = await sharp({ create: { width: 64, height: 64, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } }).png().toBuffer();
    const clearInfo = await inspectImage(clear, DEFAULT_IMAGE_LIMITS);
    const flat = await fitImage(clear, { ...clearInfo, hasAlpha: false }, { maxBytes: 10_000, maxSide: 32 });
    const { data } = await sharp(flat.bytes).raw().toBuffer({ resolveWithObject: true });
    expect(data[0]).toBeGreaterThan(250);
  });

  it('re-encodes a WebP over budget', async () => {
    const bytes = await webp(800, 600);
    const info = await inspectImage(bytes, DEFAULT_IMAGE_LIMITS);
    const out = await fitImage(bytes, info, { maxBytes: Math.floor(bytes.byteLength / 4) });
    expect(out.resized).toBe(true);
    expect(out.bytes.byteLength).toBeLessThanOrEqual(Math.floor(bytes.byteLength / 4));
    expect(Math.abs(out.height - (out.width * 600) / 800)).toBeLessThanOrEqual(1);
  });

  it('turns an EXIF-rotated image upright even when it fits', async () => {
    const bytes = await noise(40, 20).jpeg().withMetadata({ orientation: 6 }).toBuffer();
    const info = await inspectImage(bytes, DEFAULT_IMAGE_LIMITS);
    const out = await fitImage(bytes, info, { maxBytes: 1_000_000 });
    expect(out).toMatchObject({ resized: true, width: 20, height: 40 });
    const m = await sharp(out.bytes).metadata();
    expect([m.width, m.height, m.orientation ?? 1]).toEqual([20, 40, 1]);
  });

  it('learns orientation and alpha from the header when given a bare StoredImage', async () => {
    const bytes = await noise(40, 20).jpeg().withMetadata({ orientation: 6 }).toBuffer();
    const out = await fitImage(bytes, { mime: 'image/jpeg', width: 20, height: 40 }, { maxBytes: 1_000_000 });
    expect(out).toMatchObject({ resized: true, width: 20, height: 40 });
    const alpha = await pngAlpha(400, 200);
    const keptPng = await fitImage(alpha, { mime: 'image/png', width: 400, height: 200 }, { maxBytes: 1_000_000, maxSide: 100 });
    expect(keptPng).toMatchObject({ mime: 'image/png', width: 100, height: 50 });
  });

  it('gives up with INPUT_IMAGE_TOO_LARGE after a bounded number of tries', async () => {
    const bytes = await jpeg(500, 500);
    const info = await inspectImage(bytes, DEFAULT_IMAGE_LIMITS);
    const started = Date.now();
    const err = await fitImage(bytes, info, { maxBytes: 50 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VlpError);
    expect((err as VlpError).code).toBe('INPUT_IMAGE_TOO_LARGE');
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('dataUri', () => {
  it('is data:<mime>;base64,<payload> with exactly one ";"', async () => {
    const bytes = await jpeg(8, 8);
    const uri = dataUri(bytes, 'image/jpeg');
    expect(uri.startsWith('data:image/jpeg;base64,')).toBe(true);
    expect(uri.split(';')).toHaveLength(2);
    expect(Buffer.from(uri.slice(uri.indexOf(',') + 1), 'base64').equals(bytes)).toBe(true);
  });

  it('encodes only the view, not the whole underlying buffer', () => {
    const backing = Uint8Array.of(1, 2, 3, 4, 5, 6);
    expect(dataUri(backing.subarray(2, 5), 'image/png')).toBe(`data:image/png;base64,${Buffer.from([3, 4, 5]).toString('base64')}`);
  });
});

describe('base64Budget', () => {
  it('leaves room for the prompt, the data-URI prefix and a margin', () => {
    const prompt = 3000;
    const raw = base64Budget(TGI_REQUEST_LIMIT_BYTES, prompt);
    const uriLength = 'data:image/webp;base64,'.length + Math.ceil(raw / 3) * 4;
    expect(prompt + uriLength).toBeLessThanOrEqual(TGI_REQUEST_LIMIT_BYTES - 4096);
    expect(raw % 3).toBe(0);
    expect(raw).toBeGreaterThan(1_400_000); // not wastefully small: 3/4 of 2 MB is 1.5 MB
  });

  it('is 0 when the prompt leaves no room, and shrinks as the prompt grows', () => {
    expect(base64Budget(10_000, 9_000)).toBe(0);
    expect(base64Budget(2_000_000, 1_000)).toBeGreaterThan(base64Budget(2_000_000, 100_000));
  });
});

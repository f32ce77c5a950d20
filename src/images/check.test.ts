// inspectImage on real encodes made with sharp: accepted types, byte/side/pixel limits (a 50000×50000
// header refused without decoding), and GIF, random, truncated and mislabelled bytes refused.
import { describe, expect, it } from 'vitest';
import { VlpError } from '../../protocol/errors.ts';
import { inspectImage, sniffImageType } from './check.ts';
import type { ImageLimits } from './check.ts';
import { gif, hugeHeaderPng, jpeg, noise, noiseBytes, pngAlpha, tiny, truncatedJpeg, webp } from './test-images.ts';

const LIMITS: ImageLimits = { maxBytes: 6 * 1024 * 1024, maxPixels: 50_000_000, maxSide: 16_384 };

async function codeOf(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (err) {
    if (err instanceof VlpError) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('expected a VlpError');
}

describe('sniffImageType', () => {
  it('recognises JPEG, PNG and WebP by magic bytes', async () => {
    expect(sniffImageType(await jpeg())).toBe('image/jpeg');
    expect(sniffImageType(await pngAlpha())).toBe('image/png');
    expect(sniffImageType(await webp())).toBe('image/webp');
  });

  it('refuses GIF, random bytes, short and empty input', async () => {
    expect(sniffImageType(await gif())).toBeUndefined();
    expect(sniffImageType(noiseBytes(1024, 7))).toBeUndefined();
    expect(sniffImageType(Uint8Array.of(0xff, 0xd8))).toBeUndefined();
    expect(sniffImageType(new Uint8Array(0))).toBeUndefined();
    // RIFF but not WEBP (a WAV header)
    expect(sniffImageType(Buffer.from('RIFF\0\0\0\0WAVEfmt ', 'latin1'))).toBeUndefined();
  });
});

describe('inspectImage', () => {
  it('returns type and dimensions of JPEG, PNG with alpha, WebP and a 1×1', async () => {
    expect(await inspectImage(await jpeg(64, 48), LIMITS)).toMatchObject({ mime: 'image/jpeg', width: 64, height: 48 });
    expect(await inspectImage(await pngAlpha(30, 20), LIMITS)).toMatchObject({ mime: 'image/png', width: 30, height: 20, hasAlpha: true });
    expect(await inspectImage(await webp(17, 33), LIMITS)).toMatchObject({ mime: 'image/webp', width: 17, height: 33 });
    expect(await inspectImage(await tiny(), LIMITS)).toMatchObject({ mime: 'image/png', width: 1, height: 1 });
  });

  it('reports upright dimensions of an EXIF-rotated JPEG and flags it', async () => {
    const rotated = await noise(40, 20).jpeg().withMetadata({ orientation: 6 }).toBuffer();
    expect(await inspectImage(rotated, LIMITS)).toMatchObject({ width: 20, height: 40, oriented: true });
  });

  it('refuses bytes over maxBytes before decoding, naming the limit', async () => {
    const err = await codeOf(inspectImage(noiseBytes(2000), { ...LIMITS, maxBytes: 1000 }));
    expect(err.code).toBe('INPUT_IMAGE_TOO_LARGE');
    expect(err.message).toContain('1000');
  });

  it('refuses a 50000×50000 header without allocating its pixels', async () => {
    const png = hugeHeaderPng();
    expect(png.byteLength).toBeLessThan(1024 * 1024);
    const before = process.memoryUsage().rss;
    const err = await codeOf(inspectImage(png, LIMITS));
    expect(err.code).toBe('INPUT_IMAGE_TOO_LARGE');
    expect(err.message).toContain('16384');
    // Same with a side limit it passes: the pixel count is refused instead.
    const byPixels = await codeOf(inspectImage(png, { ...LIMITS, maxSide: 60_000 }));
    expect(byPixels.code).toBe('INPUT_IMAGE_TOO_LARGE');
    expect(byPixels.message).toContain('50000000');
    expect(process.memoryUsage().rss - before).toBeLessThan(200 * 1024 * 1024); // 7.5 GB if decoded
  });

  it('refuses an image over maxPixels or maxSide', async () => {
    const img = await jpeg(200, 100);
    expect((await codeOf(inspectImage(img, { ...LIMITS, maxPixels: 19_999 }))).code).toBe('INPUT_IMAGE_TOO_LARGE');
    expect((await codeOf(inspectImage(img, { ...LIMITS, maxSide: 199 }))).code).toBe('INPUT_IMAGE_TOO_LARGE');
    await expect(inspectImage(img, { ...LIMITS, maxPixels: 20_000, maxSide: 200 })).resolves.toMatchObject({ width: 200 });
  });

  it('refuses GIF and random bytes as INVALID', async () => {
    expect((await codeOf(inspectImage(await gif(), LIMITS))).code).toBe('INPUT_IMAGE_INVALID');
    expect((await codeOf(inspectImage(noiseBytes(4096, 3), LIMITS))).code).toBe('INPUT_IMAGE_INVALID');
  });

  it('refuses a truncated JPEG as INVALID (the header alone reads fine)', async () => {
    const err = await codeOf(inspectImage(await truncatedJpeg(), LIMITS));
    expect(err.code).toBe('INPUT_IMAGE_INVALID');
    expect(err.message).toMatch(/decode/);
  });

  it('refuses a truncated PNG and WebP as INVALID', async () => {
    const png = await noise(128, 128).png().toBuffer();
    const webpBytes = await webp(128, 128);
    for (const bytes of [png.subarray(0, png.byteLength >> 1), webpBytes.subarray(0, webpBytes.byteLength >> 1)]) {
      expect((await codeOf(inspectImage(bytes, LIMITS))).code).toBe('INPUT_IMAGE_INVALID');
    }
  });

  it('refuses magic bytes glued onto another format as INVALID', async () => {
    const fake = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), await jpeg()]);
    expect((await codeOf(inspectImage(fake, LIMITS))).code).toBe('INPUT_IMAGE_INVALID');
    const jpegHeadOnWebp = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), await webp()]);
    expect((await codeOf(inspectImage(jpegHeadOnWebp, LIMITS))).code).toBe('INPUT_IMAGE_INVALID');
  });
});

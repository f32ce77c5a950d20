// Test-only: builds the images the image-module tests need (real encodes made with sharp, plus a
// hand-made PNG whose header claims 50000×50000 pixels in a few hundred bytes).
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import type { Sharp } from 'sharp';

/** Deterministic pseudo-random bytes (xorshift32), so noisy images compress the same every run. */
export function noiseBytes(n: number, seed = 0x9e3779b9): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** A width×height image of noise (incompressible: large as JPEG), `channels` 3 or 4. */
export function noise(width: number, height: number, channels: 3 | 4 = 3): Sharp {
  return sharp(noiseBytes(width * height * channels), { raw: { width, height, channels } });
}

export function solid(width: number, height: number, channels: 3 | 4 = 3): Sharp {
  const background = channels === 4 ? { r: 30, g: 120, b: 200, alpha: 0.5 } : { r: 30, g: 120, b: 200 };
  return sharp({ create: { width, height, channels, background } });
}

export const jpeg = (w = 64, h = 48): Promise<Buffer> => noise(w, h).jpeg({ quality: 80 }).toBuffer();
export const pngAlpha = (w = 64, h = 48): Promise<Buffer> => solid(w, h, 4).png().toBuffer();
export const webp = (w = 64, h = 48): Promise<Buffer> => noise(w, h).webp({ quality: 80 }).toBuffer();
export const gif = (): Promise<Buffer> => solid(8, 8).gif().toBuffer();
export const tiny = (): Promise<Buffer> => solid(1, 1).png().toBuffer();

/** The first half of a JPEG: the header is intact, the entropy-coded data stops. */
export async function truncatedJpeg(): Promise<Buffer> {
  const full = await jpeg(256, 256);
  return full.subarray(0, Math.floor(full.byteLength / 2));
}

function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.byteLength);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body) >>> 0);
  return Buffer.concat([len, body, crc]);
}

/** A structurally valid PNG whose IHDR claims `side`×`side` RGB pixels; its IDAT holds one black
 *  row, so it is a few hundred bytes and would need side²×3 bytes to decode. */
export function hugeHeaderPng(side = 50_000): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type RGB
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const idat = deflateSync(Buffer.alloc(1 + side * 3));
  return Buffer.concat([signature, pngChunk('IHDR', ihdr), pngChunk('IDAT', idat), pngChunk('IEND', Buffer.alloc(0))]);
}

// Validates untrusted image bytes: type by magic bytes, size, header dimensions (read without
// decoding pixels, so decompression bombs are refused cheaply), then proof that the pixels decode.
import sharp from 'sharp';
import { VlpError } from '../../protocol/errors.ts';
import type { ImageInfo, ImageMime } from './types.ts';

export interface ImageLimits {
  /** Largest encoded image, bytes. */
  maxBytes: number;
  /** Largest width × height, pixels. */
  maxPixels: number;
  /** Largest width or height, pixels. */
  maxSide: number;
}

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] as const;
/** sharp's name for the decoder of each accepted type. */
const SHARP_FORMAT: Record<ImageMime, string> = { 'image/jpeg': 'jpeg', 'image/png': 'png', 'image/webp': 'webp' };
/** Side of the thumbnail rendered to prove the pixels decode. JPEG and WebP shrink on load, so
 *  this costs a fraction of a full decode; PNG is decoded row by row (sequential read). */
const PROBE_SIDE = 32;

function startsWith(bytes: Uint8Array, magic: readonly number[], at = 0): boolean {
  if (bytes.byteLength < at + magic.length) return false;
  for (let i = 0; i < magic.length; i++) if (bytes[at + i] !== magic[i]) return false;
  return true;
}

/** The image type announced by the first bytes, or undefined when it is none of the three. */
export function sniffImageType(bytes: Uint8Array): ImageMime | undefined {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (startsWith(bytes, PNG_MAGIC)) return 'image/png';
  // RIFF <size:4> WEBP
  if (startsWith(bytes, [0x52, 0x49, 0x46, 0x46]) && startsWith(bytes, [0x57, 0x45, 0x42, 0x50], 8)) return 'image/webp';
  return undefined;
}

/**
 * Checks `bytes` against `limits` and returns the image's type and upright dimensions.
 * Throws VlpError INPUT_IMAGE_TOO_LARGE (bytes, side or pixel count over a limit) or
 * INPUT_IMAGE_INVALID (not JPEG/PNG/WebP, unreadable header, type mismatch, pixels do not decode).
 */
export async function inspectImage(bytes: Uint8Array, limits: ImageLimits): Promise<ImageInfo> {
  if (bytes.byteLength > limits.maxBytes) {
    throw new VlpError('INPUT_IMAGE_TOO_LARGE', `image is ${bytes.byteLength} bytes, over the limit of ${limits.maxBytes} bytes`);
  }
  const mime = sniffImageType(bytes);
  if (mime === undefined) throw new VlpError('INPUT_IMAGE_INVALID', 'image is not JPEG, PNG or WebP');

  // Header only: no pixel buffer is allocated, whatever the dimensions claim. The pixel limit is
  // ours to report (as TOO_LARGE), so sharp's is off for this call.
  const meta = await sharp(bytes, { limitInputPixels: false })
    .metadata()
    .catch((err: unknown) => {
      throw new VlpError('INPUT_IMAGE_INVALID', `image header cannot be read as ${SHARP_FORMAT[mime].toUpperCase()}`, { cause: err });
    });
  if (meta.format !== SHARP_FORMAT[mime]) {
    throw new VlpError('INPUT_IMAGE_INVALID', 'image content does not match its declared type');
  }
  const width = meta.autoOrient.width;
  const height = meta.autoOrient.height;
  if (!(width > 0 && height > 0)) throw new VlpError('INPUT_IMAGE_INVALID', 'image header has no dimensions');
  const side = Math.max(width, height);
  if (side > limits.maxSide) {
    throw new VlpError('INPUT_IMAGE_TOO_LARGE', `image side of ${side} pixels is over the limit of ${limits.maxSide} pixels`);
  }
  if (width * height > limits.maxPixels) {
    throw new VlpError('INPUT_IMAGE_TOO_LARGE', `image of ${width}×${height} pixels is over the limit of ${limits.maxPixels} pixels`);
  }

  await proveDecodes(bytes, limits.maxPixels);
  const orientation = meta.orientation ?? 1;
  return { mime, width, height, oriented: orientation > 1 && orientation <= 8, hasAlpha: meta.hasAlpha };
}

/** Renders a tiny thumbnail so truncated or corrupt pixel data is refused now, not upstream. */
async function proveDecodes(bytes: Uint8Array, maxPixels: number): Promise<void> {
  try {
    await sharp(bytes, { limitInputPixels: maxPixels, failOn: 'error', sequentialRead: true })
      .resize(PROBE_SIDE, PROBE_SIDE, { fit: 'inside' })
      .raw()
      .toBuffer();
  } catch (err) {
    throw new VlpError('INPUT_IMAGE_INVALID', 'image pixel data does not decode (truncated or corrupt)', { cause: err });
  }
}

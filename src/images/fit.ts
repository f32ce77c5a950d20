// Makes an inspected image fit a byte and side budget (downscale + JPEG re-encode, bounded tries),
// and renders it as the data URI a TGI request carries, with the largest size that still fits.
import sharp from 'sharp';
import { VlpError } from '../../protocol/errors.ts';
import type { ImageInfo, ImageMime, StoredImage } from './types.ts';

export interface FitBudget {
  /** Largest encoded image, bytes (see base64Budget for a TGI request). */
  maxBytes: number;
  /** Largest width or height, pixels; unset = no side limit. */
  maxSide?: number;
}

export interface FittedImage extends StoredImage {
  /** True when the bytes were re-encoded (smaller, upright, or both); false = the input as is. */
  resized: boolean;
}

/** JPEG qualities tried at each size, best first. */
const JPEG_QUALITIES = [85, 72, 60] as const;
/** Encodes tried before giving up; with halving per level this reaches 1/64 of the side. */
const MAX_ENCODES = 10;
/** A JPEG this many times over budget will not fit by lowering quality (85→60 saves ~40-50%):
 *  go straight to a smaller size. */
const QUALITY_CANNOT_BRIDGE = 1.8;
/** Re-encoded images are flattened onto white (JPEG has no alpha). */
const WHITE = { r: 255, g: 255, b: 255 } as const;
/** `data:<mime>;base64,` is longest for image/jpeg and image/webp: 23 characters. */
const DATA_URI_PREFIX_MAX = 'data:image/jpeg;base64,'.length;
const DATA_URI_MIMES: ReadonlySet<string> = new Set<ImageMime>(['image/jpeg', 'image/png', 'image/webp']);

interface Size { width: number; height: number }

/**
 * Returns `bytes` unchanged when they are within budget (and stored upright); otherwise a
 * downscaled, re-encoded copy (aspect ratio kept to within 1 px; EXIF and other metadata dropped).
 * An image with alpha stays PNG when that fits at the first size, else it is flattened onto white
 * and sent as JPEG. Throws INPUT_IMAGE_TOO_LARGE when no attempt fits, INPUT_IMAGE_INVALID when
 * the pixels cannot be decoded. `known` is inspectImage's answer (or a StoredImage: the
 * orientation and alpha facts it lacks are then read from the header).
 */
export async function fitImage(bytes: Uint8Array, known: ImageInfo, budget: FitBudget): Promise<FittedImage> {
  const info = await withFacts(bytes, known);
  const maxSide = budget.maxSide ?? Number.POSITIVE_INFINITY;
  const side = Math.max(info.width, info.height);
  if (bytes.byteLength <= budget.maxBytes && side <= maxSide && info.oriented !== true) {
    return { bytes, mime: info.mime, width: info.width, height: info.height, resized: false };
  }

  let scale = Math.min(1, maxSide / side);
  let attempts = 0;
  try {
    if (info.hasAlpha === true) {
      const size = scaled(info, scale);
      attempts++;
      const png = await encode(bytes, info, size, 'png');
      if (png.byteLength <= budget.maxBytes) return { bytes: png, mime: 'image/png', ...size, resized: true };
    }
    while (attempts < MAX_ENCODES) {
      const size = scaled(info, scale);
      let last = Number.POSITIVE_INFINITY;
      for (const quality of JPEG_QUALITIES) {
        if (attempts >= MAX_ENCODES) break;
        attempts++;
        const jpeg = await encode(bytes, info, size, quality);
        if (jpeg.byteLength <= budget.maxBytes) return { bytes: jpeg, mime: 'image/jpeg', ...size, resized: true };
        last = jpeg.byteLength;
        if (last > budget.maxBytes * QUALITY_CANNOT_BRIDGE) break;
      }
      if (size.width === 1 && size.height === 1) break;
      // Bytes grow roughly with pixel count: shrink the side by at least half, and by more when
      // the last size says half will not do.
      scale *= Math.min(0.5, 0.9 * Math.sqrt(budget.maxBytes / last));
    }
  } catch (err) {
    throw new VlpError('INPUT_IMAGE_INVALID', 'image pixel data cannot be re-encoded', { cause: err });
  }
  throw new VlpError('INPUT_IMAGE_TOO_LARGE', `image does not fit in ${budget.maxBytes} bytes even downscaled`);
}

/** `info` with `oriented` and `hasAlpha` filled in from the header when the caller passed a bare
 *  StoredImage (a header read, no pixel decode). */
async function withFacts(bytes: Uint8Array, info: ImageInfo): Promise<ImageInfo> {
  if (info.oriented !== undefined && info.hasAlpha !== undefined) return info;
  const meta = await sharp(bytes, { limitInputPixels: false })
    .metadata()
    .catch((err: unknown) => {
      throw new VlpError('INPUT_IMAGE_INVALID', 'image header cannot be read', { cause: err });
    });
  const orientation = meta.orientation ?? 1;
  return { ...info, oriented: orientation > 1 && orientation <= 8, hasAlpha: meta.hasAlpha };
}

function scaled(info: ImageInfo, scale: number): Size {
  return { width: Math.max(1, Math.round(info.width * scale)), height: Math.max(1, Math.round(info.height * scale)) };
}

/** One encode from the original bytes (streamed by libvips, JPEG/WebP shrink on load). */
async function encode(bytes: Uint8Array, info: ImageInfo, size: Size, as: 'png' | number): Promise<Uint8Array> {
  const img = sharp(bytes, { limitInputPixels: info.width * info.height, failOn: 'error' })
    .autoOrient()
    .resize(size.width, size.height, { fit: 'fill' });
  if (as === 'png') return img.png({ compressionLevel: 9 }).toBuffer();
  return img.flatten({ background: WHITE }).jpeg({ quality: as }).toBuffer();
}

/** `data:<mime>;base64,<payload>`: exactly one `;`, no parameters (TGI ≥ 2.0.2 parses it so). */
export function dataUri(bytes: Uint8Array, mime: ImageMime): string {
  if (!DATA_URI_MIMES.has(mime)) throw new TypeError('dataUri: mime must be image/jpeg, image/png or image/webp');
  return `data:${mime};base64,${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')}`;
}

/**
 * Largest raw image, bytes, whose data URI fits in a request of `requestLimitBytes` that also
 * carries `promptBytes` of everything else (prompt text, JSON, parameters). Keeps a safety margin
 * of 1% of the limit (at least 4 KiB) for what the caller did not count. 0 when nothing fits.
 */
export function base64Budget(requestLimitBytes: number, promptBytes: number): number {
  const margin = Math.max(4096, Math.ceil(requestLimitBytes * 0.01));
  const room = requestLimitBytes - promptBytes - DATA_URI_PREFIX_MAX - margin;
  // Base64 writes 4 characters per 3 bytes; a multiple of 3 bytes needs no padding.
  return room <= 0 ? 0 : Math.floor(room / 4) * 3;
}

// A session's images by id, bounded by count and total bytes; when full, the oldest put goes.
// Holds no Map (and no memory beyond the object) while empty.
import { VlpError } from '../../protocol/errors.ts';
import { DEFAULT_STORE_LIMITS } from './defaults.ts';
import type { StoredImage } from './types.ts';

export interface ImageStoreLimits {
  /** Images kept at most. */
  maxImages: number;
  /** Total bytes of the kept images at most. */
  maxBytes: number;
}

export class ImageStore {
  readonly #limits: ImageStoreLimits;
  /** Insertion order = age: the first entry is the oldest put. Undefined while empty. */
  #images: Map<string, StoredImage> | undefined;
  #bytes = 0;

  constructor(limits: Partial<ImageStoreLimits> = {}) {
    this.#limits = { ...DEFAULT_STORE_LIMITS, ...limits };
    if (!(this.#limits.maxImages >= 1 && this.#limits.maxBytes >= 0)) throw new RangeError('ImageStore: maxImages must be >= 1 and maxBytes >= 0');
  }

  /**
   * Stores `image` under `id` (replacing, and renewing the age of, an image with that id) and
   * evicts the oldest images until both bounds hold. Returns the evicted ids. The bytes are
   * copied when they are a view into a larger buffer (a decoded frame), so the frame can go.
   * Throws INPUT_IMAGE_TOO_LARGE when the image alone is over the byte bound.
   */
  put(id: string, image: StoredImage): string[] {
    const size = image.bytes.byteLength;
    if (size > this.#limits.maxBytes) {
      throw new VlpError('INPUT_IMAGE_TOO_LARGE', `image is ${size} bytes, over the session's image store limit of ${this.#limits.maxBytes} bytes`);
    }
    this.delete(id);
    const evicted: string[] = [];
    const images = (this.#images ??= new Map());
    for (const [oldId, old] of images) {
      if (images.size < this.#limits.maxImages && this.#bytes + size <= this.#limits.maxBytes) break;
      images.delete(oldId);
      this.#bytes -= old.bytes.byteLength;
      evicted.push(oldId);
    }
    images.set(id, { bytes: owned(image.bytes), mime: image.mime, width: image.width, height: image.height });
    this.#bytes += size;
    return evicted;
  }

  get(id: string): StoredImage | undefined {
    return this.#images?.get(id);
  }

  has(id: string): boolean {
    return this.#images?.has(id) ?? false;
  }

  /** True when an image was removed. */
  delete(id: string): boolean {
    const old = this.#images?.get(id);
    if (old === undefined) return false;
    this.#images?.delete(id);
    this.#bytes -= old.bytes.byteLength;
    if (this.#images?.size === 0) this.clear();
    return true;
  }

  clear(): void {
    this.#images = undefined;
    this.#bytes = 0;
  }

  /** Images kept. */
  get size(): number {
    return this.#images?.size ?? 0;
  }

  /** Total bytes of the images kept. */
  get bytes(): number {
    return this.#bytes;
  }
}

/** `bytes` itself when it owns its whole buffer, else a private copy. */
function owned(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : new Uint8Array(bytes);
}

// A session's images: image.put is checked asynchronously (magic bytes, dimensions, decode; URL
// images fetched under the SSRF policy), so a turn that names an image waits for its check.
import type { ImagePutMsg } from '../../protocol/messages.ts';
import { VlpError } from '../../protocol/errors.ts';
import type { Config } from '../config/schema.ts';
import { ImageStore } from '../images/store.ts';
import { inspectImage } from '../images/check.ts';
import { fetchImage } from '../images/fetch.ts';
import type { StoredImage } from '../images/types.ts';

export class SessionImages {
  private readonly store: ImageStore;
  /** Checks still running, by image id (a turn naming one waits for it). */
  private readonly pending = new Map<string, Promise<void>>();
  /** Why recent image.put checks failed, by id (newest 16), so a turn naming one gets the cause. */
  private readonly failures = new Map<string, VlpError>();
  /** The vision model's one-sentence description of an image, by id (at most images.perSession). */
  private readonly descriptions = new Map<string, string>();

  constructor(private readonly config: Config) {
    this.store = new ImageStore({ maxImages: config.images.perSession, maxBytes: config.limits.maxImageBytes * 4 });
  }

  /** Start checking and storing an image; resolves when done, rejects with a VlpError. */
  put(msg: ImagePutMsg): Promise<void> {
    this.failures.delete(msg.id);
    const work = this.check(msg).then(
      (img) => {
        this.store.put(msg.id, img);
      },
      (err: unknown) => {
        if (err instanceof VlpError) {
          this.failures.set(msg.id, err);
          if (this.failures.size > 16) this.failures.delete(this.failures.keys().next().value as string);
        }
        throw err;
      },
    );
    const tracked = work.finally(() => {
      if (this.pending.get(msg.id) === tracked) this.pending.delete(msg.id);
    });
    this.pending.set(msg.id, tracked);
    return tracked;
  }

  /** Why the last image.put with this id was rejected, if it was. */
  failure(id: string): VlpError | undefined {
    return this.failures.get(id);
  }

  /** The stored image, after any pending check of it; undefined when unknown or rejected. */
  async get(id: string): Promise<StoredImage | undefined> {
    const p = this.pending.get(id);
    if (p) await p.catch(() => undefined);
    return this.store.get(id);
  }

  /** Remember what the vision model said an image shows (bounded like the images themselves). */
  setDescription(id: string, text: string): void {
    this.descriptions.delete(id);
    this.descriptions.set(id, text.trim().slice(0, 1000));
    while (this.descriptions.size > this.config.images.perSession) this.descriptions.delete(this.descriptions.keys().next().value as string);
  }

  description(id: string): string | undefined {
    return this.descriptions.get(id);
  }

  /** The stored image now, without waiting for a pending check (speculative work). */
  peek(id: string): StoredImage | undefined {
    return this.store.get(id);
  }

  private async check(msg: ImagePutMsg): Promise<StoredImage> {
    const { images, limits } = this.config;
    let bytes: Uint8Array;
    if (msg.data !== undefined) bytes = msg.data;
    else if (msg.url !== undefined) {
      bytes = await fetchImage(msg.url, {
        allowedHosts: images.allowedHosts,
        allowPrivate: images.allowPrivate,
        maxBytes: limits.maxImageBytes,
        timeoutMs: images.fetchTimeoutMs,
        maxRedirects: images.maxRedirects,
      });
    } else throw new VlpError('PROTO_INVALID_FIELD', 'image.put needs data or url');
    const info = await inspectImage(bytes, { maxBytes: limits.maxImageBytes, maxPixels: images.maxPixels, maxSide: images.maxSide });
    return { bytes, mime: info.mime, width: info.width, height: info.height };
  }
}

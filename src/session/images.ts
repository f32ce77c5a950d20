// A session's images: image.put is checked asynchronously (magic bytes, dimensions, decode; URL
// images fetched under the SSRF policy), so a turn that names an image waits for its check.
// The checks in flight are bounded: at most images.checksInFlight image ids at once (a put of
// another id is refused), one check running per id (a newer put of the id replaces the older one),
// and every check, URL downloads included, stops when the session closes.
import type { ImagePutMsg } from '../../protocol/messages.ts';
import { VlpError } from '../../protocol/errors.ts';
import type { Config } from '../config/schema.ts';
import { ImageStore } from '../images/store.ts';
import { inspectImage } from '../images/check.ts';
import { fetchImage } from '../images/fetch.ts';
import type { StoredImage } from '../images/types.ts';

/** What became of an image.put that was not rejected: `stored`, or `dropped` when a newer put of
 *  its id replaced it (its result ignored) or the session closed: nothing to report either way. */
export type PutOutcome = 'stored' | 'dropped';

/** One image.put admitted for checking. */
interface PendingPut {
  readonly msg: ImagePutMsg;
  /** Aborted when a newer put of the id replaces this one or the session closes. */
  readonly controller: AbortController;
  readonly resolve: (outcome: PutOutcome) => void;
  readonly reject: (err: unknown) => void;
}

/** The check work of one image id. */
interface Slot {
  /** The put whose check runs now. */
  running: PendingPut;
  /** The newest put of the id, waiting for the running (replaced) check to stop: one check runs
   *  per id, and a put replaced before it started is dropped at once, bytes and all. */
  waiting: PendingPut | undefined;
  /** Settles (never rejects) once no check of the id is left and the slot is gone. */
  done: Promise<void>;
}

export class SessionImages {
  private readonly store: ImageStore;
  /** Image ids with a check in flight (a turn naming one waits for it); at most checksInFlight. */
  private readonly slots = new Map<string, Slot>();
  /** Why recent image.put checks failed, by id (newest 16), so a turn naming one gets the cause. */
  private readonly failures = new Map<string, VlpError>();
  /** The vision model's one-sentence description of an image, by id (at most images.perSession). */
  private readonly descriptions = new Map<string, string>();

  /** `lifetime` is aborted when the session closes: checks in flight stop with it. */
  constructor(private readonly config: Config, private readonly lifetime: AbortSignal) {
    this.store = new ImageStore({ maxImages: config.images.perSession, maxBytes: config.limits.maxImageBytes * 4 });
    // One listener for the session, not one per check.
    lifetime.addEventListener('abort', () => this.dropAll(), { once: true });
  }

  /** The PROTO_RATE_LIMITED error an image.put with this id gets now, or undefined when it may
   *  start: its id already has a check in flight (the put replaces it), or there is room. */
  refusal(id: string): VlpError | undefined {
    const max = this.config.images.checksInFlight;
    if (this.slots.has(id) || this.slots.size < max) return undefined;
    return new VlpError(
      'PROTO_RATE_LIMITED',
      `refused: ${max} image checks are already in flight in this session; this image was not stored (send it again once one of them has ended)`,
    );
  }

  /**
   * Start checking and storing an image. Resolves with the outcome; rejects with a VlpError when
   * the check failed, or with the refusal (PROTO_RATE_LIMITED, nothing changed) when there is no
   * room: call refusal() first. A put of an id whose check is in flight replaces that put: its
   * URL fetch is aborted, its result ignored (it resolves `dropped`), and the new check starts
   * once the old one has stopped.
   */
  put(msg: ImagePutMsg): Promise<PutOutcome> {
    const refused = this.refusal(msg.id);
    if (refused) return Promise.reject(refused);
    if (this.lifetime.aborted) return Promise.resolve('dropped');
    this.failures.delete(msg.id);
    return new Promise<PutOutcome>((resolve, reject) => {
      const put: PendingPut = { msg, controller: new AbortController(), resolve, reject };
      const slot = this.slots.get(msg.id);
      if (slot) {
        slot.running.controller.abort();
        slot.waiting?.resolve('dropped');
        slot.waiting = put;
        return;
      }
      const fresh: Slot = { running: put, waiting: undefined, done: Promise.resolve() };
      this.slots.set(msg.id, fresh);
      fresh.done = this.drain(msg.id, fresh);
    });
  }

  /** Image checks in flight (image ids with a running check). */
  get inFlight(): number {
    return this.slots.size;
  }

  /** Why the last image.put with this id was rejected, if it was. */
  failure(id: string): VlpError | undefined {
    return this.failures.get(id);
  }

  /** The stored image, after any pending check of it (and of the puts that replaced it);
   *  undefined when unknown or rejected. */
  async get(id: string): Promise<StoredImage | undefined> {
    const slot = this.slots.get(id);
    if (slot) await slot.done;
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

  /** Runs the slot's checks, newest replacement after the running one, then frees the slot. */
  private async drain(id: string, slot: Slot): Promise<void> {
    for (let put: PendingPut | undefined = slot.running; put !== undefined; put = slot.waiting) {
      slot.running = put;
      slot.waiting = undefined;
      await this.run(put);
    }
    this.slots.delete(id);
  }

  /** One put's check; settles its promise, never throws. A replaced or closed put stores nothing. */
  private async run(put: PendingPut): Promise<void> {
    const { msg, controller } = put;
    const { signal } = controller;
    try {
      const img = await this.check(msg, signal);
      if (signal.aborted) return put.resolve('dropped');
      this.store.put(msg.id, img);
      put.resolve('stored');
    } catch (err) {
      if (signal.aborted) return put.resolve('dropped');
      if (err instanceof VlpError) {
        this.failures.set(msg.id, err);
        if (this.failures.size > 16) this.failures.delete(this.failures.keys().next().value as string);
      }
      put.reject(err);
    }
  }

  /** The session closed: every check in flight stops (downloads are aborted), none is stored. */
  private dropAll(): void {
    for (const slot of this.slots.values()) {
      slot.running.controller.abort();
      slot.waiting?.resolve('dropped');
      slot.waiting = undefined;
    }
  }

  private async check(msg: ImagePutMsg, signal: AbortSignal): Promise<StoredImage> {
    const { images, limits } = this.config;
    let bytes: Uint8Array;
    if (msg.data !== undefined) bytes = msg.data;
    else if (msg.url !== undefined) {
      bytes = await fetchImage(
        msg.url,
        {
          allowedHosts: images.allowedHosts,
          allowPrivate: images.allowPrivate,
          maxBytes: limits.maxImageBytes,
          timeoutMs: images.fetchTimeoutMs,
          maxRedirects: images.maxRedirects,
        },
        { signal },
      );
    } else throw new VlpError('PROTO_INVALID_FIELD', 'image.put needs data or url');
    // Replaced (or the session closed) during the download: no decode for nothing.
    signal.throwIfAborted();
    const info = await inspectImage(bytes, { maxBytes: limits.maxImageBytes, maxPixels: images.maxPixels, maxSide: images.maxSide });
    return { bytes, mime: info.mime, width: info.width, height: info.height };
  }
}

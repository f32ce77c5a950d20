// A bounded single-consumer async queue: the producer pushes without waiting; when the consumer
// falls more than `max` items behind, the queue drops its backlog and the iterator throws.
import { VlpClientError } from './errors.ts';

/** Default bound for every per-iterator queue, in frames. */
export const DEFAULT_MAX_BACKLOG = 10_000;

interface Waiter<T> {
  resolve(r: IteratorResult<T, undefined>): void;
  reject(e: unknown): void;
}

export class BoundedQueue<T> implements AsyncIterableIterator<T, undefined> {
  private items: (T | undefined)[] = [];
  private head = 0;
  private waiter: Waiter<T> | undefined;
  private ended = false;
  private failure: Error | undefined;
  private detached = false;

  /** `onDetach` runs once, when the queue stops accepting items (end, failure or consumer exit). */
  constructor(
    private readonly max: number,
    private readonly label: string,
    private readonly onDetach: () => void = () => {},
  ) {}

  /** Items waiting for the consumer. */
  get size(): number {
    return this.items.length - this.head;
  }

  /** True once the queue accepts no more items. */
  get closed(): boolean {
    return this.ended || this.failure !== undefined;
  }

  push(item: T): void {
    if (this.closed) return;
    const w = this.waiter;
    if (w !== undefined) {
      this.waiter = undefined;
      w.resolve({ value: item, done: false });
      return;
    }
    this.items.push(item);
    if (this.size > this.max) {
      this.items = [];
      this.head = 0;
      this.fail(
        new VlpClientError(
          'CLIENT_SLOW_CONSUMER',
          `${this.label} consumer fell behind by more than ${this.max} frames; its backlog was dropped`,
          { retryable: false },
        ),
      );
    }
  }

  /** No more items: the consumer drains what is queued, then sees done. */
  end(): void {
    if (this.closed) return;
    this.ended = true;
    this.settleWaiter();
    this.detach();
  }

  /** The consumer drains what is queued, then `err` is thrown. */
  fail(err: Error): void {
    if (this.closed) return;
    this.failure = err;
    this.settleWaiter();
    this.detach();
  }

  next(): Promise<IteratorResult<T, undefined>> {
    if (this.size > 0) {
      const value = this.items[this.head] as T;
      this.items[this.head] = undefined;
      this.head += 1;
      if (this.head > 1024 && this.head * 2 > this.items.length) {
        this.items = this.items.slice(this.head);
        this.head = 0;
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    if (this.waiter !== undefined) return Promise.reject(new Error(`${this.label} has one consumer at a time`));
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** The consumer left (break / return in for-await): stop buffering. */
  return(): Promise<IteratorResult<T, undefined>> {
    this.items = [];
    this.head = 0;
    this.ended = true;
    this.settleWaiter();
    this.detach();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private settleWaiter(): void {
    const w = this.waiter;
    if (w === undefined) return;
    this.waiter = undefined;
    if (this.failure !== undefined) w.reject(this.failure);
    else w.resolve({ value: undefined, done: true });
  }

  private detach(): void {
    if (this.detached) return;
    this.detached = true;
    this.onDetach();
  }
}

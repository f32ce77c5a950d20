// The bridge from a callback-driven upstream reader (socket data callbacks) to the port's
// AsyncIterable: a bounded single-consumer queue whose next() resolves at once when events wait, or
// when the producer pushes the next one. One promise per event, no stream machinery on the token path.

/** What the producer learns from the channel. */
export interface ChannelHooks {
  /** The queue went over its high-water mark: stop reading upstream until onDrain. */
  onFull(): void;
  /** The consumer took the last queued event (the queue is empty again). */
  onDrain(): void;
  /** The consumer left early (return()): close the upstream request unless it already ended. */
  onReturn(): void;
}

type Waiter<T> = { resolve: (r: IteratorResult<T, undefined>) => void; reject: (err: unknown) => void };

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

export class EventChannel<T> implements AsyncIterableIterator<T, undefined> {
  private queue: T[] = [];
  private head = 0;
  private waiter: Waiter<T> | undefined;
  /** Set once by end()/fail(); delivered after the queued events. */
  private outcome: { error: unknown } | 'end' | undefined;
  private closedByConsumer = false;
  private full = false;

  /** @param highWater events queued before hooks.onFull() asks the producer to pause. */
  constructor(
    private readonly hooks: ChannelHooks,
    private readonly highWater = 256,
  ) {}

  /** Events waiting for the consumer. */
  get queued(): number {
    return this.queue.length - this.head;
  }

  /** The stream is over for the producer: end(), fail() or the consumer's return() happened. */
  get closed(): boolean {
    return this.outcome !== undefined || this.closedByConsumer;
  }

  push(value: T): void {
    if (this.closed) return;
    const w = this.waiter;
    if (w !== undefined) {
      this.waiter = undefined;
      w.resolve({ done: false, value });
      return;
    }
    this.queue.push(value);
    if (!this.full && this.queued >= this.highWater) {
      this.full = true;
      this.hooks.onFull();
    }
  }

  /** Normal end: the consumer gets the queued events, then done. */
  end(): void {
    if (this.closed) return;
    this.outcome = 'end';
    this.settleWaiter();
  }

  /** Failure: the consumer gets the queued events, then `error` is thrown. */
  fail(error: unknown): void {
    if (this.closed) return;
    this.outcome = { error };
    this.settleWaiter();
  }

  next(): Promise<IteratorResult<T, undefined>> {
    if (this.head < this.queue.length) {
      const value = this.queue[this.head] as T;
      this.queue[this.head] = undefined as T;
      this.head++;
      if (this.head === this.queue.length) {
        this.queue.length = 0;
        this.head = 0;
        this.full = false;
        this.hooks.onDrain();
      }
      return Promise.resolve({ done: false, value });
    }
    if (this.closedByConsumer || this.outcome === 'end') return Promise.resolve(DONE);
    if (this.outcome !== undefined) {
      const { error } = this.outcome;
      this.outcome = 'end'; // thrown once; later calls see a finished iterator
      return Promise.reject(error);
    }
    if (this.waiter !== undefined) return Promise.reject(new Error('EventChannel: next() while a next() is pending'));
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<T, undefined>> {
    if (!this.closedByConsumer) {
      this.closedByConsumer = true;
      this.queue = [];
      this.head = 0;
      const w = this.waiter;
      this.waiter = undefined;
      w?.resolve(DONE);
      this.hooks.onReturn();
    }
    return Promise.resolve(DONE);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** A pending next() waits only when the queue is empty: hand it the outcome now. */
  private settleWaiter(): void {
    const w = this.waiter;
    if (w === undefined) return;
    this.waiter = undefined;
    if (this.outcome === 'end') w.resolve(DONE);
    else if (this.outcome !== undefined) {
      const { error } = this.outcome;
      this.outcome = 'end';
      w.reject(error);
    }
  }
}

/** An event stream whose first next() throws `err`: a request refused before it was sent keeps
 *  the async-generator timing (nothing throws at generate() itself). */
// eslint-disable-next-line require-yield
export async function* failedStream<T>(err: unknown): AsyncGenerator<T, undefined, undefined> {
  throw err;
}

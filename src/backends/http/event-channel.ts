// The bridge from a callback-driven upstream reader (socket data callbacks) to the port's
// AsyncIterable: a bounded single-consumer queue whose next() resolves at once when events wait, or
// when the producer pushes the next one. One promise per event, no stream machinery on the token path;
// in push mode (drainTo, see push-drain.ts) not even that: each event goes straight to the sink.
import type { Drainable } from '../push-drain.ts';

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
type Drain<T> = { sink: (value: T) => void; resolve: () => void; reject: (err: unknown) => void };

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

export class EventChannel<T> implements AsyncIterableIterator<T, undefined>, Drainable<T> {
  private queue: T[] = [];
  private head = 0;
  private waiter: Waiter<T> | undefined;
  /** Push mode: every event goes to this sink as it is pushed. */
  private drain: Drain<T> | undefined;
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
    const d = this.drain;
    if (d !== undefined) {
      this.deliver(d, value);
      return;
    }
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
    this.settleDrain();
  }

  /** Failure: the consumer gets the queued events, then `error` is thrown. */
  fail(error: unknown): void {
    if (this.closed) return;
    this.outcome = { error };
    this.settleWaiter();
    this.settleDrain();
  }

  next(): Promise<IteratorResult<T, undefined>> {
    if (this.drain !== undefined) return Promise.reject(new Error('EventChannel: next() while drainTo() is active'));
    if (this.head < this.queue.length) return Promise.resolve({ done: false, value: this.take() });
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

  /** Push mode for the rest of the stream (Drainable): the queued events, then each pushed one,
   *  go to `sink` at once. Resolves after the last event, rejects with the stream's error; an
   *  exception from `sink` closes the stream as return() does and rejects with it. */
  drainTo(sink: (value: T) => void): Promise<void> {
    if (this.waiter !== undefined || this.drain !== undefined) return Promise.reject(new Error('EventChannel: drainTo() while a read is pending'));
    return new Promise<void>((resolve, reject) => {
      const d: Drain<T> = { sink, resolve, reject };
      this.drain = d;
      // Events that waited for the consumer go first, in order (a sink may end the drain).
      while (this.drain === d && this.head < this.queue.length) this.deliver(d, this.take());
      if (this.drain === d && (this.outcome !== undefined || this.closedByConsumer)) this.settleDrain();
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
      const d = this.drain;
      this.drain = undefined;
      d?.resolve();
      this.hooks.onReturn();
    }
    return Promise.resolve(DONE);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** The oldest queued event; tells the producer when the queue is empty again. */
  private take(): T {
    const value = this.queue[this.head] as T;
    this.queue[this.head] = undefined as T;
    this.head++;
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
      this.full = false;
      this.hooks.onDrain();
    }
    return value;
  }

  private deliver(d: Drain<T>, value: T): void {
    try {
      d.sink(value);
    } catch (err) {
      if (this.drain !== d) return; // the drain already ended inside the sink
      this.drain = undefined;
      void this.return();
      d.reject(err);
    }
  }

  /** Push mode ends with the stream: once the queue is empty, settle the drain's promise. */
  private settleDrain(): void {
    const d = this.drain;
    if (d === undefined || this.head < this.queue.length) return;
    this.drain = undefined;
    if (this.outcome !== undefined && this.outcome !== 'end') {
      const { error } = this.outcome;
      this.outcome = 'end';
      d.reject(error);
    } else d.resolve();
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

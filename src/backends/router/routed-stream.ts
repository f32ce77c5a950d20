// One routed request as an event stream. Until the first event it runs the attempts (replicas by
// least outstanding, pre-token retries, the fallback); from the first event on, the chosen stream's
// events pass straight through — the per-token path adds one promise reaction, not an async
// generator, and none at all in push mode (drainTo, when the chosen stream offers it). Errors after
// the first event are rethrown as they are (no retry once tokens flowed).
import type { VlpError } from '../../../protocol/errors.ts';
import { abortError, isAbortError } from '../abort.ts';
import type { GenEvent, TextGenBackend, TextGenRequest } from '../ports.ts';
import { hasImages } from '../prompt/images.ts';
import type { Picker } from './picker.ts';
import type { Replica } from './replica.ts';
import { drainableOf, type Drainable } from '../push-drain.ts';
import { backoffMs, isRetryable, sleep } from './retry-policy.ts';
import type { RouterLogEvent } from './router.ts';

export interface RouterContext {
  readonly picker: Picker;
  readonly fallback: TextGenBackend | undefined;
  readonly maxAttempts: number;
  readonly maxRetryAfterMs: number;
  readonly baseBackoffMs: number;
  readonly now: () => number;
  readonly log: (event: RouterLogEvent) => void;
}

type Result = IteratorResult<GenEvent, undefined>;
const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/** The stream being read: a replica's (with its bookkeeping) or the fallback's (replica undefined). */
interface Flow {
  inner: AsyncIterator<GenEvent, unknown>;
  replica: Replica | undefined;
  startedAt: number;
}

export class RoutedStream implements AsyncIterableIterator<GenEvent, undefined>, Drainable<GenEvent> {
  private flow: Flow | undefined;
  private state: 'init' | 'starting' | 'flowing' | 'done' = 'init';

  constructor(
    private readonly ctx: RouterContext,
    private readonly req: TextGenRequest,
  ) {}

  next(): Promise<Result> {
    if (this.state === 'flowing') return (this.flow as Flow).inner.next().then(this.onResult, this.onError);
    if (this.state === 'init') {
      this.state = 'starting';
      return this.start();
    }
    return Promise.resolve(DONE);
  }

  /** The consumer left: close the upstream stream; a replica that had served tokens served fine. */
  return(): Promise<Result> {
    const flow = this.flow;
    if (this.state === 'flowing' && flow !== undefined) {
      this.finish(true);
      void flow.inner.return?.()?.catch(() => undefined);
    }
    this.state = 'done';
    return Promise.resolve(DONE);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Push mode once flowing, when the chosen stream offers it. An exception from `sink` ends the
   *  flow as the consumer's return() would (the replica served fine), not as an upstream failure. */
  drainTo(sink: (event: GenEvent) => void): Promise<void> | undefined {
    const flow = this.flow;
    if (this.state !== 'flowing' || flow === undefined) return undefined;
    let sinkError: { error: unknown } | undefined;
    const drained = drainableOf(flow.inner)?.drainTo((ev) => {
      try {
        sink(ev);
      } catch (error) {
        sinkError = { error };
        throw error;
      }
    });
    if (drained === undefined) return undefined;
    return drained.then(
      () => {
        this.state = 'done';
        this.finish(true);
      },
      (err: unknown) => {
        if (sinkError === undefined || sinkError.error !== err) return this.onError(err);
        this.state = 'done';
        this.finish(true);
        throw err;
      },
    );
  }

  private readonly onResult = (r: IteratorResult<GenEvent, unknown>): Result => {
    if (r.done !== true) return r;
    this.state = 'done';
    this.finish(true);
    return DONE;
  };

  private readonly onError = (err: unknown): never => {
    const replica = this.flow?.replica;
    this.state = 'done';
    this.finish(false);
    if (this.req.signal.aborted) throw isAbortError(err) ? err : abortError(this.req.signal.reason);
    replica?.failed(err, this.ctx.now());
    throw err;
  };

  /** Ends the flow's bookkeeping once: the replica's in-flight count, and success when it served. */
  private finish(served: boolean): void {
    const flow = this.flow;
    if (flow === undefined || flow.replica === undefined) return;
    this.flow = undefined;
    flow.replica.outstanding--;
    if (served) flow.replica.breaker.success(flow.startedAt);
  }

  /**
   * Attempts until the first event. Retries and the fallback happen only while nothing has been
   * delivered; req.signal reaches every attempt unchanged.
   */
  private async start(): Promise<Result> {
    const { ctx, req } = this;
    const { signal } = req;
    if (signal.aborted) {
      this.state = 'done';
      throw abortError(signal.reason);
    }
    const fallback = ctx.fallback !== undefined && fallbackCanServe(ctx.fallback, req) ? ctx.fallback : undefined;
    const tried = new Set<Replica>();
    let lastErr: VlpError | undefined;
    let lastFailed = '';
    let attempts = 0;
    // Every breaker open: the fallback if there is one, else the replica that opened longest ago.
    let next: Replica | undefined = fallback !== undefined && ctx.picker.allDown() ? undefined : ctx.picker.first(ctx.now());
    try {
      while (next !== undefined) {
        const replica = next;
        attempts++;
        tried.add(replica);
        replica.outstanding++;
        const flow: Flow = { inner: replica.backend.generate(req)[Symbol.asyncIterator](), replica, startedAt: ctx.now() };
        this.flow = flow;
        try {
          return this.first(await flow.inner.next());
        } catch (err) {
          this.finish(false);
          if (signal.aborted) throw isAbortError(err) ? err : abortError(signal.reason);
          replica.failed(err, ctx.now());
          if (!isRetryable(err, 0)) throw err;
          lastErr = err;
          lastFailed = replica.id;
        }
        if (attempts >= ctx.maxAttempts) break;
        const choice = ctx.picker.retry(tried, ctx.now(), ctx.maxRetryAfterMs);
        if (choice === undefined) break; // no replica up, or only ones whose Retry-After is too long
        await sleep(Math.max(choice.waitMs, backoffMs(attempts, ctx.baseBackoffMs, ctx.maxRetryAfterMs)), signal);
        ctx.log({ kind: 'retry', backend: replica.id, code: lastErr.code });
        req.onRetry?.({ code: lastErr.code, attempt: attempts + 1, backend: replica.id });
        next = choice.replica;
      }

      if (fallback !== undefined) {
        if (lastErr === undefined) {
          ctx.log({ kind: 'fallback', backend: fallback.id });
        } else {
          ctx.log({ kind: 'fallback', backend: fallback.id, code: lastErr.code });
          req.onRetry?.({ code: lastErr.code, attempt: attempts + 1, backend: lastFailed });
        }
        // Its own errors (and an abort) propagate as they are.
        this.flow = { inner: fallback.generate(req)[Symbol.asyncIterator](), replica: undefined, startedAt: ctx.now() };
        return this.first(await this.flow.inner.next());
      }
      if (lastErr === undefined) throw new Error('router: no attempt was made'); // unreachable: first() always returns
      throw lastErr;
    } catch (err) {
      this.state = 'done';
      throw err;
    }
  }

  /** The first event of the chosen stream: from now on events pass through. */
  private first(r: IteratorResult<GenEvent, unknown>): Result {
    if (r.done === true) {
      this.state = 'done';
      this.finish(true);
      return DONE;
    }
    // return() may have been called while the first event was on its way.
    if (this.state !== 'starting') {
      const inner = this.flow?.inner;
      this.finish(false);
      void inner?.return?.()?.catch(() => undefined);
      return DONE;
    }
    this.state = 'flowing';
    return r;
  }
}

/** A fallback without vision cannot take a request carrying images. */
function fallbackCanServe(fallback: TextGenBackend, req: TextGenRequest): boolean {
  return fallback.capabilities.vision || !hasImages(req.messages);
}

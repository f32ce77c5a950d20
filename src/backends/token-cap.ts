// The token cap: the gateway bounds every generation itself, whatever the backend does. The model
// registry wraps each model's backend in it, so every consumer of the generation port — dialogue
// turns, speculative answers, chain-of-thought planning (LangChain), image descriptions — gets it.
//
// The cap of one request is its max_new_tokens when set (the backend was asked for it too), else
// the gateway ceiling (limits.maxNewTokens, which is not sent: a backend's own limit, e.g. TGI's
// max_total_tokens − input, may be lower and a larger value is refused), and never more than the
// ceiling (turns' parameters are range-checked against it already; the gateway's own requests,
// planning's 512 for instance, are held to it too). A backend that honours the limit sends its
// done event after at most `cap` tokens: the stream passes through unchanged. Token number cap + 1
// means the backend ignored the limit: that token is dropped, the inner stream is closed (every
// adapter then destroys its upstream request, the port's contract) and the stream ends with a done
// event of its own: finish 'length', tokens = cap, capped: true and generatedText ''. The text is
// not rebuilt: keeping every token's text for that case would hold each answer's strings for the
// whole stream (old-generation growth and longer scavenges on the token path); a consumer that
// needs it has the token events' text (turn.ts relays it, LangChain concatenates the chunks, an
// image description keeps its few tokens).
//
// Push mode (push-drain.ts) is kept: the wrapper is Drainable whenever its inner stream is (the
// router's stream once flowing, an EventChannel), and then adds one synchronous call per token to
// the sink — no promise, no microtask. Pulling adds one promise reaction per event.
import type { GenParams } from '../../protocol/messages.ts';
import type { DoneEvent, GenEvent, TextGenBackend } from './ports.ts';
import { drainableOf, type Drainable } from './push-drain.ts';

type Result = IteratorResult<GenEvent, undefined>;
const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/** Thrown from the inner drain's sink to cut a pushed stream: the Drainable then closes the stream
 *  as return() does and rejects with it. Never escapes this module. */
const CUT = new Error('the stream reached the token cap');

/** Tokens one request may stream: its max_new_tokens when set, else the ceiling; at most the ceiling. */
export function tokenCap(params: GenParams, ceiling: number): number {
  return Math.min(params.max_new_tokens ?? ceiling, ceiling);
}

/** `inner` with every generate() stream held to tokenCap(req.params, ceiling) tokens. */
export function withTokenCap(inner: TextGenBackend, ceiling: number): TextGenBackend {
  return {
    id: inner.id,
    capabilities: inner.capabilities,
    generate: (req) => new CappedStream(inner.generate(req)[Symbol.asyncIterator](), tokenCap(req.params, ceiling)),
    probe: (timeoutMs) => inner.probe(timeoutMs),
    close: () => inner.close(),
  };
}

/** One generate() stream held to `cap` token events. */
export class CappedStream implements AsyncIterableIterator<GenEvent, undefined>, Drainable<GenEvent> {
  /** Token events let through. */
  private tokens = 0;
  /** 'cut': this stream cut the inner one (its own done event is delivered or on its way). */
  private state: 'open' | 'cut' | 'closed' = 'open';

  constructor(
    private readonly inner: AsyncIterator<GenEvent, unknown>,
    readonly cap: number,
  ) {}

  next(): Promise<Result> {
    if (this.state !== 'open') return Promise.resolve(DONE);
    return this.inner.next().then(this.onResult);
  }

  /** The consumer left early: close the inner stream (and so the upstream request). */
  return(): Promise<Result> {
    if (this.state !== 'open') return Promise.resolve(DONE);
    this.state = 'closed';
    const closing = this.inner.return?.();
    return closing === undefined ? Promise.resolve(DONE) : closing.then(() => DONE);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Push mode when the inner stream offers it now (Drainable): its sink counts tokens and cuts the
   *  stream by throwing CUT, then the capped done event goes to `sink` once the inner stream closed. */
  drainTo(sink: (event: GenEvent) => void): Promise<void> | undefined {
    if (this.state !== 'open') return undefined;
    const drained = drainableOf(this.inner)?.drainTo((ev) => {
      if (ev.kind === 'token') {
        if (this.tokens === this.cap) {
          this.state = 'cut';
          throw CUT;
        }
        this.tokens++;
      }
      sink(ev);
    });
    if (drained === undefined) return undefined;
    return drained.then(undefined, (err: unknown) => {
      // CUT thrown by another stream's sink (a consumer that is itself a CappedStream) is not ours.
      if (err !== CUT || this.state !== 'cut') throw err;
      sink(this.cappedDone());
    });
  }

  private readonly onResult = (r: IteratorResult<GenEvent, unknown>): Result | Promise<Result> => {
    if (r.done === true) {
      this.state = 'closed';
      return DONE;
    }
    if (r.value.kind === 'token') {
      if (this.tokens === this.cap) return this.cut();
      this.tokens++;
    }
    return r;
  };

  /** Token cap + 1 arrived while pulling: close the inner stream, then the capped done event (an
   *  error closing it is not the consumer's: the stream ends as the cap says). */
  private cut(): Promise<Result> {
    this.state = 'cut';
    const result: Result = { done: false, value: this.cappedDone() };
    const closing = this.inner.return?.();
    return closing === undefined ? Promise.resolve(result) : closing.then(() => result, () => result);
  }

  private cappedDone(): DoneEvent {
    return { kind: 'done', finish: 'length', generatedText: '', tokens: this.cap, capped: true };
  }
}

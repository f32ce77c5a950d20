// Test-only helper: a scripted TextGenBackend. Each generate() call plays the next step (tokens,
// an error before or after some tokens, a hold until released), honours the abort signal, and
// records calls, in-flight streams, return() calls and probes.
import { VlpError } from '../../../protocol/errors.ts';
import type { ErrorCode } from '../../../protocol/errors.ts';
import { abortError } from '../abort.ts';
import type { GenEvent, TextGenBackend, TextGenCapabilities, TextGenRequest } from '../ports.ts';

export interface Step {
  /** Token texts streamed before the done event (or before `fail`). Default ['a', 'b'], or none
   *  when the step fails. */
  tokens?: string[];
  /** Thrown after the tokens instead of the done event. */
  fail?: VlpError;
  /** When set, the stream waits here (after `holdAfter` tokens) until release() or an abort. */
  hold?: boolean;
  holdAfter?: number;
}

export function upstream(code: ErrorCode, retryAfterS?: number): VlpError {
  return new VlpError(code, `fake ${code}`, retryAfterS === undefined ? {} : { retryAfterS });
}

export class FakeBackend implements TextGenBackend {
  readonly id: string;
  readonly capabilities: TextGenCapabilities;
  /** Steps played in order; once empty, every call gets a default successful step. */
  readonly script: Step[] = [];
  calls = 0;
  /** Streams started and not yet ended, as the fake sees them. */
  active = 0;
  /** return() calls on an iterator that had not finished. */
  returns = 0;
  probes = 0;
  closed = false;
  /** What probe() answers (a function lets a test change it or make it hang). */
  probeAnswer: () => Promise<boolean> = () => Promise.resolve(true);
  readonly #holds: (() => void)[] = [];

  constructor(id: string, capabilities: TextGenCapabilities = { vision: false, streaming: true }) {
    this.id = id;
    this.capabilities = capabilities;
  }

  plan(...steps: Step[]): this {
    this.script.push(...steps);
    return this;
  }

  /** Lets every held stream go on. */
  release(): void {
    for (const go of this.#holds.splice(0)) go();
  }

  generate(req: TextGenRequest): AsyncIterable<GenEvent> {
    this.calls++;
    const step = this.script.shift() ?? {};
    const inner = this.#play(step, req);
    let finished = false;
    const iterator: AsyncIterator<GenEvent> = {
      next: async () => {
        try {
          const r = await inner.next();
          if (r.done === true) finished = true;
          return r;
        } catch (err) {
          finished = true;
          throw err;
        }
      },
      return: async () => {
        if (!finished) this.returns++;
        finished = true;
        return inner.return(undefined);
      },
    };
    return { [Symbol.asyncIterator]: () => iterator };
  }

  async *#play(step: Step, req: TextGenRequest): AsyncGenerator<GenEvent, void, undefined> {
    if (req.signal.aborted) throw abortError(req.signal.reason);
    this.active++;
    try {
      const tokens = step.tokens ?? (step.fail === undefined ? ['a', 'b'] : []);
      for (let i = 0; i < tokens.length; i++) {
        if (step.hold === true && i === (step.holdAfter ?? 0)) await this.#wait(req.signal);
        yield { kind: 'token', id: i, text: tokens[i] as string, special: false };
      }
      if (step.hold === true && (step.holdAfter ?? 0) >= tokens.length) await this.#wait(req.signal);
      if (step.fail !== undefined) throw step.fail;
      yield { kind: 'done', finish: 'eos_token', generatedText: tokens.join(''), tokens: tokens.length };
    } finally {
      this.active--;
    }
  }

  #wait(signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal.aborted) {
        reject(abortError(signal.reason));
        return;
      }
      const onAbort = (): void => reject(abortError(signal.reason));
      signal.addEventListener('abort', onAbort, { once: true });
      this.#holds.push(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }

  probe(_timeoutMs: number): Promise<boolean> {
    this.probes++;
    return this.probeAnswer();
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

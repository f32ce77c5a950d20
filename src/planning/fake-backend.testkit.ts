// Test-only: a scripted TextGenBackend for the planning tests. Streams the given token texts,
// can pause before a given token until the test lets it go (so a test can check what was yielded
// by then), honours the abort signal, and records each request and how its stream ended.
import { abortError } from '../backends/abort.ts';
import type { GenEvent, TextGenBackend, TextGenRequest } from '../backends/ports.ts';

export interface FakeCall {
  request: TextGenRequest;
  /** Tokens handed out. */
  sent: number;
  /** How the stream ended: ran to its done event, left early by the consumer, or aborted. */
  ended?: 'done' | 'returned' | 'aborted';
  /** The request's signal was aborted while the stream still had tokens to send. */
  abortedEarly: boolean;
}

export interface FakeScript {
  tokens: string[];
  /** Pause before sending the token at each of these indexes until go() (or an abort). */
  pauseBefore?: number[];
  /** Delay between tokens, ms (0: none). */
  delayMs?: number;
  /** Mark some token indexes as special (e.g. a final </s>). */
  special?: number[];
}

export class ScriptedBackend implements TextGenBackend {
  readonly id = 'fake:planning';
  readonly capabilities = { vision: false, streaming: true };
  readonly calls: FakeCall[] = [];
  #gates: (() => void)[] = [];
  #paused: (() => void)[] = [];

  constructor(readonly script: FakeScript) {}

  /** Resolves when the stream is paused at a gate. */
  paused(): Promise<void> {
    if (this.#gates.length > 0) return Promise.resolve();
    return new Promise((resolve) => this.#paused.push(resolve));
  }

  /** Lets a paused stream go on. */
  go(): void {
    for (const g of this.#gates.splice(0)) g();
  }

  generate(request: TextGenRequest): AsyncIterable<GenEvent> {
    const call: FakeCall = { request, sent: 0, abortedEarly: false };
    this.calls.push(call);
    const { signal } = request;
    const onAbort = (): void => {
      if (call.ended === undefined) call.abortedEarly = true;
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const play = async function* (this: ScriptedBackend): AsyncGenerator<GenEvent, void, undefined> {
      let completed = false;
      try {
        if (signal.aborted) throw abortError(signal.reason);
        const { tokens } = this.script;
        for (let i = 0; i < tokens.length; i++) {
          if (this.script.pauseBefore?.includes(i) === true) await this.#wait(signal);
          if ((this.script.delayMs ?? 0) > 0) await sleep(this.script.delayMs ?? 0, signal);
          if (signal.aborted) throw abortError(signal.reason);
          call.sent++;
          yield { kind: 'token', id: i, text: tokens[i] as string, special: this.script.special?.includes(i) === true };
        }
        completed = true;
        call.ended = 'done';
        yield { kind: 'done', finish: 'eos_token', generatedText: tokens.join(''), tokens: tokens.length };
      } catch (err) {
        call.ended ??= 'aborted';
        throw err;
      } finally {
        call.ended ??= completed ? 'done' : 'returned';
        signal.removeEventListener('abort', onAbort);
      }
    }.bind(this);
    return { [Symbol.asyncIterator]: () => play() };
  }

  #wait(signal: AbortSignal): Promise<void> {
    const gate = new Promise<void>((resolve, reject) => {
      if (signal.aborted) {
        reject(abortError(signal.reason));
        return;
      }
      const onAbort = (): void => reject(abortError(signal.reason));
      signal.addEventListener('abort', onAbort, { once: true });
      this.#gates.push(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
    });
    for (const p of this.#paused.splice(0)) p();
    return gate;
  }

  probe(): Promise<boolean> {
    return Promise.resolve(true);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(abortError(signal.reason));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

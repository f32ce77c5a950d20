// Test-only wiring shared by the adapter's tests: a scripted server plus an adapter pointed at it,
// cleaned up after each test, and helpers to collect a generation.
import { afterEach, expect } from 'vitest';
import { VlpError } from '../../../protocol/errors.ts';
import type { ErrorCode } from '../../../protocol/errors.ts';
import type { GenEvent, TextGenBackend, TextGenRequest } from '../ports.ts';
import { startFakeTgi } from '../tgi/fake-tgi.testkit.ts';
import type { FakeTgi, Script } from '../tgi/fake-tgi.testkit.ts';
import { createOpenAiBackend } from './backend.ts';
import type { OpenAiBackendOptions } from './backend.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

export function onCleanup(c: () => Promise<void>): void {
  cleanups.push(c);
}

export const BASE_OPTS = { vision: false, connectTimeoutMs: 1000, firstTokenTimeoutMs: 2000, interTokenTimeoutMs: 2000 } as const;

export function backendFor(url: string, over: Partial<OpenAiBackendOptions> = {}): TextGenBackend {
  const backend = createOpenAiBackend({ url, ...BASE_OPTS, ...over });
  onCleanup(() => backend.close());
  return backend;
}

export async function setup(script: Script, over: Partial<OpenAiBackendOptions> = {}): Promise<{ server: FakeTgi; backend: TextGenBackend }> {
  const server = await startFakeTgi(script);
  onCleanup(() => server.close());
  return { server, backend: backendFor(server.url, over) };
}

export function request(over: Partial<TextGenRequest> = {}): TextGenRequest {
  return {
    messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Capital of France?' }],
    params: { max_new_tokens: 20, stop: ['\n\n'] },
    signal: new AbortController().signal,
    ...over,
  };
}

export async function collect(it: AsyncIterable<GenEvent>): Promise<{ events: GenEvent[]; error: unknown }> {
  const events: GenEvent[] = [];
  try {
    for await (const ev of it) {
      if (ev.kind !== 'token') {
        events.push(ev);
        continue;
      }
      // Every token carries the time its bytes were read (the relay-time metric needs it);
      // compared separately so the event assertions stay exact.
      if (typeof ev.recvAt !== 'number' || ev.recvAt > performance.now()) throw new Error('token event without a valid recvAt');
      const { recvAt: _recvAt, ...rest } = ev;
      events.push(rest);
    }
    return { events, error: undefined };
  } catch (error) {
    return { events, error };
  }
}

export function expectVlp(error: unknown, code: ErrorCode): VlpError {
  expect(error).toBeInstanceOf(VlpError);
  expect((error as VlpError).code).toBe(code);
  return error as VlpError;
}

export const texts = (events: readonly GenEvent[]): string[] => events.map((e) => (e.kind === 'token' ? e.text : `<done:${e.generatedText}>`));

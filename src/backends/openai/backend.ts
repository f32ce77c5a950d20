// The OpenAI-compatible TextGenBackend (TGI ≥ 1.4 Messages API, vLLM, SGLang, llama.cpp server):
// POSTs a streaming /v1/chat/completions over a keep-alive undici Pool and turns the SSE chunks
// into token/done events with timeouts and cancellation. The server applies the chat template.
import { createParser } from 'eventsource-parser';
import type { EventSourceMessage, ParseError } from 'eventsource-parser';
import { Pool } from 'undici';
import type { Dispatcher } from 'undici';
import { VlpError } from '../../../protocol/errors.ts';
import { abortError } from '../abort.ts';
import type { ChatMessage, DoneEvent, GenEvent, TextGenBackend, TextGenRequest } from '../ports.ts';
import { StallWatch } from '../http/stall.ts';
import { endpoints } from './endpoints.ts';
import type { Endpoints } from './endpoints.ts';
import {
  openAiEndedEarlyError, openAiHttpError, openAiProtocolError, openAiTimeoutError, openAiTransportError,
} from './errors.ts';
import { DONE_DATA, parseChunk, withoutStopSuffix } from './events.ts';
import { probeServer } from './probe.ts';
import { openAiRequest } from './request.ts';

export interface OpenAiBackendOptions {
  /** Base URL: the server root (http://tgi:8080) or its API root (http://vllm:8000/v1); a path
   *  prefix is kept and /v1 is never doubled. */
  url: string;
  /** `model` of each request (vLLM and SGLang need the served name). Default "tgi" (TGI: the
   *  served model; any other value is taken as a LoRA adapter id). */
  model?: string;
  /** Sent as `Authorization: Bearer <apiKey>` (never logged, never part of the id). */
  apiKey?: string;
  /** The served model accepts images (sent as image_url content parts). */
  vision: boolean;
  /** TCP (+TLS) connect timeout, ms → UPSTREAM_UNAVAILABLE. */
  connectTimeoutMs: number;
  /** From calling upstream (pool wait, connect and headers included) to the first content, ms →
   *  UPSTREAM_TIMEOUT. Keep it above connectTimeoutMs. */
  firstTokenTimeoutMs: number;
  /** Longest wait for the next chunk after content, ms → UPSTREAM_TIMEOUT. */
  interTokenTimeoutMs: number;
  /** Cap on sockets to this server; unset = unlimited (admission control is the orchestrator's). */
  maxConnections?: number;
}

/** Largest SSE event we buffer, characters. A chunk is a few hundred bytes; 1 MiB means a broken
 *  upstream, not a long answer. */
const MAX_EVENT_CHARS = 1 << 20;
/** Bytes of an error response body read for its message. */
const MAX_ERROR_BODY = 4096;
/** Remainder of a finished stream read to keep its socket reusable. */
const DUMP_LIMIT = 64 * 1024;
const STREAM_DECODE = { stream: true } as const;

export function createOpenAiBackend(opts: OpenAiBackendOptions): TextGenBackend {
  const ep = endpoints(opts.url);
  const pool = new Pool(ep.origin, {
    connections: opts.maxConnections ?? null,
    pipelining: 1, // a streaming response occupies its socket; never queue behind one
    connect: { timeout: opts.connectTimeoutMs },
    // Our own first-token/inter-token watch replaces undici's timers (it also ignores keep-alives).
    headersTimeout: 0,
    bodyTimeout: 0,
  });
  const auth: Record<string, string> = opts.apiKey === undefined ? {} : { authorization: `Bearer ${opts.apiKey}` };
  const ctx: StreamContext = {
    pool,
    ep,
    opts,
    model: opts.model ?? 'tgi',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...auth },
  };
  return {
    // Origin and path only: never credentials from the URL, never the API key.
    id: `openai:${ep.origin}${ep.root}`,
    capabilities: { vision: opts.vision, streaming: true },
    generate: (req) => streamGeneration(ctx, req),
    probe: (timeoutMs) => probeServer(ep, { accept: 'application/json', ...auth }, timeoutMs),
    close: () => pool.close(),
  };
}

interface StreamContext {
  pool: Pool;
  ep: Endpoints;
  opts: OpenAiBackendOptions;
  model: string;
  headers: Record<string, string>;
}

function hasImages(messages: readonly ChatMessage[]): boolean {
  return messages.some((m) => m.images !== undefined && m.images.length > 0);
}

/** Reads at most MAX_ERROR_BODY bytes of an error body, then releases the socket. */
async function readErrorBody(body: Dispatcher.ResponseData['body']): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= MAX_ERROR_BODY) break; // leaving the loop destroys the rest
    }
  } catch {
    // a truncated error body still has a status worth reporting
  }
  return Buffer.concat(chunks).subarray(0, MAX_ERROR_BODY).toString('utf8');
}

/** What the stream has said so far. */
interface Progress {
  /** Content chunks yielded (the token count when the server sends no usage). */
  counted: number;
  text: string;
  finish: DoneEvent['finish'] | undefined;
  usageTokens: number | undefined;
}

function doneOf(p: Progress, stop: readonly string[]): DoneEvent {
  const finish = p.finish ?? 'eos_token';
  return {
    kind: 'done',
    finish,
    // TGI keeps a matched stop sequence in the content; the answer kept must not end with it.
    generatedText: finish === 'stop_sequence' ? withoutStopSuffix(p.text, stop) : p.text,
    tokens: p.usageTokens ?? p.counted,
  };
}

/**
 * One generation. Cancellation (principle 2): `ac` is linked to req.signal, handed to undici and
 * aborted by the stall watch; the finally block aborts it whenever we leave before the stream
 * ended — error, req.signal, or the consumer breaking out (generator return()) — which destroys
 * the upstream socket at once, so the server drops the request from its batch.
 *
 * The stream ends at `[DONE]`, or at a clean end of body after a finish_reason (TGI < 2.2 sends no
 * `[DONE]`). The usage chunk comes between the two, so the DoneEvent waits for either. Once a
 * finish_reason arrived the answer is complete: a stall, reset or garbage after it still yields
 * the DoneEvent (and the socket is dropped).
 */
async function* streamGeneration(ctx: StreamContext, req: TextGenRequest): AsyncGenerator<GenEvent, void, undefined> {
  const { signal } = req;
  if (signal.aborted) throw abortError(signal.reason);
  if (!ctx.opts.vision && hasImages(req.messages)) {
    // The session branches on capabilities.vision before calling; reaching here is a bug.
    throw new Error('openai backend: images sent to a backend without vision');
  }
  const { body, stop } = openAiRequest(ctx.model, req.messages, req.params, ctx.opts.vision);

  const ac = new AbortController();
  const onAbort = (): void => ac.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  const watch = new StallWatch(ctx.opts.firstTokenTimeoutMs, ctx.opts.interTokenTimeoutMs, () => ac.abort());
  const progress: Progress = { counted: 0, text: '', finish: undefined, usageTokens: undefined };
  let res: Dispatcher.ResponseData | undefined;
  let ended = false;
  let phase: 'request' | 'stream' = 'request';
  try {
    res = await ctx.pool.request({ method: 'POST', path: ctx.ep.chat, headers: ctx.headers, body, signal: ac.signal });
    if (res.statusCode !== 200) {
      throw openAiHttpError(res.statusCode, res.headers['retry-after'], await readErrorBody(res.body));
    }
    const contentType = res.headers['content-type'];
    if (typeof contentType !== 'string' || !contentType.includes('text/event-stream')) {
      throw openAiProtocolError('response is not text/event-stream');
    }
    phase = 'stream';

    // Parsed `data` payloads land here during feed(); drained right after, in order.
    const pending: string[] = [];
    let parseFault: ParseError | undefined;
    const parser = createParser({
      onEvent: (ev: EventSourceMessage) => {
        pending.push(ev.data);
      },
      // Comments (`:` keep-alives) are ignored: no onComment, and they never reset the watch.
      onError: (err: ParseError) => {
        if (err.type === 'max-buffer-size-exceeded') parseFault = err;
        // llama.cpp writes stream errors as an `error: {json}` field line rather than as data.
        else if (err.type === 'unknown-field' && err.field === 'error' && err.value !== undefined) {
          pending.push(`{"error":${err.value}}`);
        }
        // Other unknown fields and bad `retry:` are ignorable per the SSE spec.
      },
      maxBufferSize: MAX_EVENT_CHARS,
    });
    const decoder = new TextDecoder();
    // destroyOnReturn:false: leaving the loop must not kill a socket that finished cleanly; the
    // finally block decides between dumping the remainder and aborting.
    const chunks = res.body.iterator({ destroyOnReturn: false }) as AsyncIterableIterator<Buffer>;
    for await (const chunk of chunks) {
      const recvAt = performance.now();
      parser.feed(decoder.decode(chunk, STREAM_DECODE));
      if (parseFault !== undefined) throw openAiProtocolError('SSE event larger than 1 MiB');
      if (pending.length === 0) continue; // partial event or keep-alive: no progress
      watch.park();
      let sawToken = false;
      for (let i = 0; i < pending.length && !ended; i++) {
        const data = pending[i] as string;
        if (data === DONE_DATA) {
          if (progress.finish === undefined) throw openAiEndedEarlyError();
          ended = true;
          break;
        }
        const c = parseChunk(data, progress.counted > 0);
        if (c.completionTokens !== undefined) progress.usageTokens = c.completionTokens;
        if (c.finish !== undefined) progress.finish = c.finish;
        // Empty content (role-only, final and usage chunks) is not a token, only liveness.
        if (c.content === '') continue;
        progress.counted++;
        if (!c.special) progress.text += c.content;
        sawToken = true;
        yield { kind: 'token', id: -1, text: c.content, special: c.special, recvAt };
      }
      pending.length = 0;
      if (ended) break;
      watch.resume(sawToken);
    }
    if (!ended) {
      if (progress.finish === undefined) throw openAiEndedEarlyError();
      ended = true; // TGI < 2.2: the body ends right after the finish_reason chunk
    }
  } catch (err) {
    if (signal.aborted) throw abortError(signal.reason);
    if (progress.finish === undefined) {
      if (watch.fired !== undefined) throw openAiTimeoutError(watch.fired, watch.limitMs);
      if (err instanceof VlpError) throw err;
      throw openAiTransportError(err, phase);
    }
    // A finish_reason was received: the answer is complete whatever happened after it.
  } finally {
    watch.stop();
    signal.removeEventListener('abort', onAbort);
    if (ended && res !== undefined) {
      // Reading the (empty) rest keeps the socket in the pool.
      res.body.dump({ limit: DUMP_LIMIT }).catch(() => undefined);
    } else if (!ac.signal.aborted) {
      ac.abort(); // destroys the upstream request and its socket
    }
  }
  yield doneOf(progress, stop);
}

// The TGI native-API TextGenBackend: renders the prompt, POSTs /generate_stream over a keep-alive
// undici Pool, and turns the SSE body into token/done events with timeouts and cancellation.
import { createParser } from 'eventsource-parser';
import type { EventSourceMessage, ParseError } from 'eventsource-parser';
import { Pool } from 'undici';
import type { Dispatcher } from 'undici';
import { VlpError } from '../../../protocol/errors.ts';
import { abortError } from '../abort.ts';
import type { ChatMessage, GenEvent, TextGenBackend, TextGenRequest } from '../ports.ts';
import { renderPrompt, stopSequencesFor, templateSupportsImages } from '../prompt/index.ts';
import type { PromptTemplate } from '../prompt/index.ts';
import { tgiEndedEarlyError, tgiHttpError, tgiProtocolError, tgiTimeoutError, tgiTransportError } from './errors.ts';
import { TgiStreamReader } from './events.ts';
import { tgiRequest } from './request.ts';
import { StallWatch } from '../http/stall.ts';
import { checkTgiHealth } from './info.ts';

export interface TgiBackendOptions {
  /** Base URL of the TGI server, e.g. http://tgi-llama:8080 (a path prefix is kept). */
  url: string;
  template: PromptTemplate;
  /** The served model accepts images (IDEFICS); requires a template that can carry them. */
  vision: boolean;
  /** TCP (+TLS) connect timeout, ms → UPSTREAM_UNAVAILABLE. */
  connectTimeoutMs: number;
  /** From calling upstream (including any wait for a pooled socket, connect and headers) to the
   *  first token event, ms → UPSTREAM_TIMEOUT. Keep it above connectTimeoutMs. */
  firstTokenTimeoutMs: number;
  /** Longest wait for the next event after a token, ms → UPSTREAM_TIMEOUT. */
  interTokenTimeoutMs: number;
  /** Cap on sockets to this server; unset = unlimited (TGI answers "overloaded" past its own
   *  max_concurrent_requests, and admission control belongs to the orchestrator). */
  maxConnections?: number;
  /** IDEFICS few-shot exchanges placed after the system prompt. */
  fewShot?: ChatMessage[];
}

/** Largest SSE event we buffer, characters. A final event with details is a few KB; 1 MiB means
 *  a broken upstream, not a long answer. */
const MAX_EVENT_CHARS = 1 << 20;
/** Bytes of an error response body read for its message. */
const MAX_ERROR_BODY = 4096;
/** Remainder of a finished stream read to keep its socket reusable (TGI ends right after). */
const DUMP_LIMIT = 64 * 1024;
const STREAM_DECODE = { stream: true } as const;
const HEADERS = { 'content-type': 'application/json', accept: 'text/event-stream' } as const;

export function createTgiBackend(opts: TgiBackendOptions): TextGenBackend {
  if (opts.vision && !templateSupportsImages(opts.template)) {
    throw new Error(`tgi backend: template ${opts.template} cannot carry images but vision is set`);
  }
  const base = new URL(opts.url);
  const path = `${base.pathname.replace(/\/+$/, '')}/generate_stream`;
  const pool = new Pool(base.origin, {
    connections: opts.maxConnections ?? null,
    pipelining: 1, // a streaming response occupies its socket; never queue behind one
    connect: { timeout: opts.connectTimeoutMs },
    // Our own first-token/inter-token watch replaces undici's timers (it also ignores keep-alives).
    headersTimeout: 0,
    bodyTimeout: 0,
  });
  const templateStops = stopSequencesFor(opts.template);
  const renderOpts = opts.fewShot === undefined ? { bos: false } : { bos: false, fewShot: opts.fewShot };
  const ctx: StreamContext = { pool, path, opts, templateStops, renderOpts };

  return {
    // Origin and path only: never credentials from the URL.
    id: `tgi:${base.origin}${base.pathname.replace(/\/+$/, '')}`,
    capabilities: { vision: opts.vision, streaming: true },
    generate: (req) => streamGeneration(ctx, req),
    probe: (timeoutMs) => checkTgiHealth(opts.url, timeoutMs),
    close: () => pool.close(),
  };
}

interface StreamContext {
  pool: Pool;
  path: string;
  opts: TgiBackendOptions;
  templateStops: readonly string[];
  renderOpts: { bos: boolean; fewShot?: ChatMessage[] };
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

/**
 * One generation. Cancellation (principle 2): `ac` is linked to req.signal, handed to undici and
 * aborted by the stall watch; the finally block aborts it whenever we leave before the final event
 * — error, req.signal, or the consumer breaking out (generator return()) — which destroys the
 * upstream socket at once, so TGI drops the request from its batch.
 */
async function* streamGeneration(ctx: StreamContext, req: TextGenRequest): AsyncGenerator<GenEvent, void, undefined> {
  const { signal } = req;
  if (signal.aborted) throw abortError(signal.reason);
  if (hasImages(req.messages) && !ctx.opts.vision) {
    // The session branches on capabilities.vision before calling; reaching here is a bug.
    throw new Error('tgi backend: images sent to a backend without vision');
  }
  const { body, stop } = tgiRequest(renderPrompt(ctx.opts.template, req.messages, ctx.renderOpts), req.params, ctx.templateStops);

  const ac = new AbortController();
  const onAbort = (): void => ac.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  const watch = new StallWatch(ctx.opts.firstTokenTimeoutMs, ctx.opts.interTokenTimeoutMs, () => ac.abort());
  let res: Dispatcher.ResponseData | undefined;
  let finished = false;
  let phase: 'request' | 'stream' = 'request';
  try {
    res = await ctx.pool.request({ method: 'POST', path: ctx.path, headers: HEADERS, body, signal: ac.signal });
    if (res.statusCode !== 200) {
      throw tgiHttpError(res.statusCode, res.headers['retry-after'], await readErrorBody(res.body));
    }
    const contentType = res.headers['content-type'];
    if (typeof contentType !== 'string' || !contentType.includes('text/event-stream')) {
      throw tgiProtocolError('response is not text/event-stream');
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
        // Unknown fields and bad `retry:` are ignorable per the SSE spec; an oversized event is not.
        if (err.type === 'max-buffer-size-exceeded') parseFault = err;
      },
      maxBufferSize: MAX_EVENT_CHARS,
    });
    const decoder = new TextDecoder();
    const reader = new TgiStreamReader(stop, tgiProtocolError);
    const batch: GenEvent[] = [];
    // destroyOnReturn:false: leaving the loop must not kill a socket that finished cleanly; the
    // finally block decides between dumping the remainder and aborting.
    const chunks = res.body.iterator({ destroyOnReturn: false }) as AsyncIterableIterator<Buffer>;
    for await (const chunk of chunks) {
      const recvAt = performance.now();
      parser.feed(decoder.decode(chunk, STREAM_DECODE));
      if (parseFault !== undefined) throw tgiProtocolError('SSE event larger than 1 MiB');
      if (pending.length === 0) continue; // partial event or keep-alive: no progress
      watch.park();
      // An error event mid-batch still delivers the tokens before it, then fails the stream.
      let fault: unknown;
      try {
        reader.read(pending, recvAt, batch);
      } catch (err) {
        fault = err;
      }
      pending.length = 0;
      // Set before yielding: a consumer that stops at the final event leaves a finished stream.
      if (reader.ended) finished = true;
      for (let i = 0; i < batch.length; i++) yield batch[i] as GenEvent;
      batch.length = 0;
      if (fault !== undefined) throw fault;
      if (reader.ended) return;
      watch.resume(reader.sawToken);
    }
    throw tgiEndedEarlyError();
  } catch (err) {
    if (signal.aborted) throw abortError(signal.reason);
    if (watch.fired !== undefined) throw tgiTimeoutError(watch.fired, watch.limitMs);
    if (err instanceof VlpError) throw err;
    throw tgiTransportError(err, phase);
  } finally {
    watch.stop();
    signal.removeEventListener('abort', onAbort);
    if (finished && res !== undefined) {
      // The final event is TGI's last; reading the end keeps the socket in the pool.
      res.body.dump({ limit: DUMP_LIMIT }).catch(() => undefined);
    } else if (!ac.signal.aborted) {
      ac.abort(); // destroys the upstream request and its socket
    }
  }
}

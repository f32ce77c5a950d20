// The TGI native-API TextGenBackend: renders the prompt, POSTs /generate_stream over a keep-alive
// undici Pool, and turns the SSE body into token/done events with timeouts and cancellation.
import type { Pool } from 'undici';
import { abortError } from '../abort.ts';
import type { ChatMessage, GenEvent, TextGenBackend, TextGenRequest } from '../ports.ts';
import { renderPrompt, stopSequencesFor, templateSupportsImages } from '../prompt/index.ts';
import type { PromptTemplate } from '../prompt/index.ts';
import { hasImages } from '../prompt/images.ts';
import { tgiEndedEarlyError, tgiHttpError, tgiProtocolError, tgiTimeoutError, tgiTransportError } from './errors.ts';

/** TGI's failures mapped to stable codes (errors.ts). */
const TGI_ERRORS: UpstreamErrors = {
  http: tgiHttpError,
  protocol: (what) => tgiProtocolError(what),
  timeout: tgiTimeoutError,
  transport: tgiTransportError,
  endedEarly: tgiEndedEarlyError,
};
import { TgiStreamReader } from './events.ts';
import { tgiRequest } from './request.ts';
import { openSseStream, type UpstreamErrors } from '../http/sse-upstream.ts';
import { failedStream } from '../http/event-channel.ts';
import { createUpstreamPool } from '../http/pool.ts';
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
  /** Idle keep-alive socket lifetime, ms, when the server announces none (undici's default is 4 s). */
  idleSocketMs?: number;
  /** IDEFICS few-shot exchanges placed after the system prompt. */
  fewShot?: ChatMessage[];
}

const HEADERS = { 'content-type': 'application/json', accept: 'text/event-stream' } as const;

export function createTgiBackend(opts: TgiBackendOptions): TextGenBackend {
  if (opts.vision && !templateSupportsImages(opts.template)) {
    throw new Error(`tgi backend: template ${opts.template} cannot carry images but vision is set`);
  }
  const base = new URL(opts.url);
  const path = `${base.pathname.replace(/\/+$/, '')}/generate_stream`;
  const pool = createUpstreamPool(base.origin, opts);
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

/**
 * One generation, read as it streams (http/sse-upstream.ts). Cancellation (principle 2): aborting
 * req.signal, the stall watch firing, or the consumer leaving early (return()) before the final
 * event destroys the upstream socket at once, so TGI drops the request from its batch.
 */
function streamGeneration(ctx: StreamContext, req: TextGenRequest): AsyncIterableIterator<GenEvent, undefined> {
  if (req.signal.aborted) return failedStream(abortError(req.signal.reason));
  if (hasImages(req.messages) && !ctx.opts.vision) {
    // The session branches on capabilities.vision before calling; reaching here is a bug.
    return failedStream(new Error('tgi backend: images sent to a backend without vision'));
  }
  let built: ReturnType<typeof tgiRequest>;
  try {
    built = tgiRequest(renderPrompt(ctx.opts.template, req.messages, ctx.renderOpts), req.params, ctx.templateStops);
  } catch (err) {
    return failedStream(err); // e.g. an image URL the template cannot carry: thrown at the first next()
  }
  const { body, stop } = built;
  return openSseStream({
    dispatcher: ctx.pool,
    path: ctx.path,
    headers: HEADERS,
    body,
    signal: req.signal,
    firstTokenTimeoutMs: ctx.opts.firstTokenTimeoutMs,
    interTokenTimeoutMs: ctx.opts.interTokenTimeoutMs,
    decoder: new TgiStreamReader(stop, tgiProtocolError),
    errors: TGI_ERRORS,
  });
}

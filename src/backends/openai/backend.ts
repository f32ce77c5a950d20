// The OpenAI-compatible TextGenBackend (TGI ≥ 1.4 Messages API, vLLM, SGLang, llama.cpp server):
// POSTs a streaming /v1/chat/completions over a keep-alive undici Pool and turns the SSE chunks
// into token/done events with timeouts and cancellation. The server applies the chat template.
import type { Pool } from 'undici';
import { abortError } from '../abort.ts';
import type { GenEvent, TextGenBackend, TextGenRequest } from '../ports.ts';
import { hasImages } from '../prompt/images.ts';
import { openSseStream, type UpstreamErrors } from '../http/sse-upstream.ts';
import { failedStream } from '../http/event-channel.ts';
import { createUpstreamPool } from '../http/pool.ts';
import { endpoints } from './endpoints.ts';
import type { Endpoints } from './endpoints.ts';
import {
  openAiEndedEarlyError, openAiHttpError, openAiProtocolError, openAiTimeoutError, openAiTransportError,
} from './errors.ts';
import { OpenAiStreamDecoder } from './stream-decoder.ts';
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
  /** Idle keep-alive socket lifetime, ms, when the server announces none (undici's default is 4 s). */
  idleSocketMs?: number;
}

/** The server's failures mapped to stable codes (errors.ts). */
const OPENAI_ERRORS: UpstreamErrors = {
  http: openAiHttpError,
  protocol: (what) => openAiProtocolError(what),
  timeout: openAiTimeoutError,
  transport: openAiTransportError,
  endedEarly: openAiEndedEarlyError,
};

export function createOpenAiBackend(opts: OpenAiBackendOptions): TextGenBackend {
  const ep = endpoints(opts.url);
  const pool = createUpstreamPool(ep.origin, opts);
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

/**
 * One generation, read as it streams (http/sse-upstream.ts with OpenAiStreamDecoder).
 * Cancellation (principle 2): aborting req.signal, the stall watch firing, or the consumer leaving
 * early (return()) before the stream ended destroys the upstream socket at once, so the server
 * drops the request from its batch.
 */
function streamGeneration(ctx: StreamContext, req: TextGenRequest): AsyncIterableIterator<GenEvent, undefined> {
  if (req.signal.aborted) return failedStream(abortError(req.signal.reason));
  if (!ctx.opts.vision && hasImages(req.messages)) {
    return failedStream(new Error('openai backend: images sent to a backend without vision'));
  }
  let built: ReturnType<typeof openAiRequest>;
  try {
    built = openAiRequest(ctx.model, req.messages, req.params, ctx.opts.vision);
  } catch (err) {
    return failedStream(err); // e.g. an image URL that is not allowed: thrown at the first next()
  }
  const { body, stop } = built;
  return openSseStream({
    dispatcher: ctx.pool,
    path: ctx.ep.chat,
    headers: ctx.headers,
    body,
    signal: req.signal,
    firstTokenTimeoutMs: ctx.opts.firstTokenTimeoutMs,
    interTokenTimeoutMs: ctx.opts.interTokenTimeoutMs,
    decoder: new OpenAiStreamDecoder(stop),
    errors: OPENAI_ERRORS,
  });
}

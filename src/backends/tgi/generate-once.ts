// TGI native `POST /generate` for short, non-streamed generations (e.g. a grammar-constrained
// classification): one JSON GenerateResponse, read under one deadline with a size cap, errors
// mapped like the streaming adapter's (errors.ts). The caller builds `parameters` (TGI field names).
import { VlpError } from '../../../protocol/errors.ts';
import { createUpstreamPool } from '../http/pool.ts';
import { postUnary } from '../http/unary.ts';
import { tgiHttpError, tgiProtocolError, tgiTransportError } from './errors.ts';

export interface TgiGenerateOptions {
  /** Base URL of the TGI server (a path prefix is kept). */
  url: string;
  /** TCP (+TLS) connect timeout, ms → UPSTREAM_UNAVAILABLE. */
  connectTimeoutMs: number;
  /** Whole exchange (queue, prefill, every token, body), ms → UPSTREAM_TIMEOUT. */
  timeoutMs: number;
  maxConnections?: number;
  /** Largest answer read, bytes (default 64 KiB; send `details: false` or few tokens). */
  maxResponseBytes?: number;
}

export interface TgiGenerateResult {
  generatedText: string;
  /** details.finish_reason when `details` was requested. */
  finishReason: 'length' | 'eos_token' | 'stop_sequence' | null;
  generatedTokens: number | null;
}

export interface TgiGenerateClient {
  readonly id: string;
  /** Throws VlpError (UPSTREAM_*) or an AbortError when `signal` aborted (the request is then
   *  closed, so TGI drops it from its batch). */
  generate(inputs: string, parameters: Record<string, unknown>, signal?: AbortSignal): Promise<TgiGenerateResult>;
  close(): Promise<void>;
}

const DEFAULT_MAX_RESPONSE = 64 * 1024;
const FINISH = new Set(['length', 'eos_token', 'stop_sequence']);

function parseGenerateResponse(body: string): TgiGenerateResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    // The parse error is not attached: it quotes the body, i.e. the generated text.
    throw tgiProtocolError('/generate answer is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw tgiProtocolError('/generate answer is not an object');
  const { generated_text: text, details } = parsed as { generated_text?: unknown; details?: unknown };
  if (typeof text !== 'string') throw tgiProtocolError('/generate answer has no generated_text');
  let finishReason: TgiGenerateResult['finishReason'] = null;
  let generatedTokens: number | null = null;
  if (typeof details === 'object' && details !== null) {
    const d = details as { finish_reason?: unknown; generated_tokens?: unknown };
    if (typeof d.finish_reason === 'string' && FINISH.has(d.finish_reason)) finishReason = d.finish_reason as TgiGenerateResult['finishReason'];
    if (typeof d.generated_tokens === 'number') generatedTokens = d.generated_tokens;
  }
  return { generatedText: text, finishReason, generatedTokens };
}

export function createTgiGenerateClient(opts: TgiGenerateOptions): TgiGenerateClient {
  const base = new URL(opts.url);
  const path = `${base.pathname.replace(/\/+$/, '')}/generate`;
  const pool = createUpstreamPool(base.origin, { connectTimeoutMs: opts.connectTimeoutMs, maxConnections: opts.maxConnections });
  const headers = { 'content-type': 'application/json', accept: 'application/json' };
  const maxBytes = opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE;
  const errors = {
    timeout: (ms: number) => new VlpError('UPSTREAM_TIMEOUT', `TGI /generate answered nothing complete within ${ms} ms`),
    transport: tgiTransportError,
  };
  return {
    id: `tgi-generate:${base.origin}${base.pathname.replace(/\/+$/, '')}`,
    generate: async (inputs, parameters, signal) => {
      const body = JSON.stringify({ inputs, parameters });
      const res = await postUnary(pool, { path, body, headers, timeoutMs: opts.timeoutMs, maxBytes, signal }, errors);
      if (res.status !== 200) throw tgiHttpError(res.status, res.headers['retry-after'], res.body.toString('utf8'));
      if (res.truncated) throw tgiProtocolError(`/generate answer larger than ${maxBytes} bytes`);
      return parseGenerateResponse(res.body.toString('utf8'));
    },
    close: () => pool.close(),
  };
}

// The one place that maps failures of OpenAI-compatible servers (TGI Messages API, vLLM, SGLang,
// llama.cpp) to stable VlpError codes: HTTP statuses before the stream, in-band error chunks,
// transport (socket/DNS/connect) errors, timeouts and protocol faults. Messages never contain the
// prompt: upstream text is shown only from JSON error bodies, cut to 200 characters, and withheld
// when it looks like a request echo (pydantic validation errors quote the offending input).
import { cappedRetryAfter, cutText, errorCodeOf, UNREACHABLE_CODES } from '../http/upstream-errors.ts';
import { VlpError } from '../../../protocol/errors.ts';
import type { ErrorCode } from '../../../protocol/errors.ts';

const WHO = 'OpenAI-compatible server';

/** pydantic (vLLM, SGLang) lists the rejected value under `input`: never forward that. */
const ECHO = /['"]input['"]\s*:/;

function shown(message: string | undefined): string {
  return message === undefined || message === '' || ECHO.test(message) ? '' : `: ${cutText(message)}`;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What an error body or error chunk says, across the servers' shapes:
 *  TGI `{"error":"...","error_type":"..."}`, TGI chat `{"error":{"message","http_status_code"}}`,
 *  OpenAI / vLLM ≥ 0.6 / llama.cpp `{"error":{"message","type","code"}}`, vLLM < 0.6
 *  `{"object":"error","message","type","code"}`, FastAPI `{"detail":"..."}`. */
export interface UpstreamError {
  message: string | undefined;
  /** An HTTP status carried in the body (http_status_code, or a numeric code). */
  status: number | undefined;
  /** error_type / type / a string code. */
  type: string | undefined;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const int = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) ? v : undefined);

export function readUpstreamError(body: unknown): UpstreamError | undefined {
  if (!isObj(body)) return undefined;
  const e = body.error;
  if (typeof e === 'string') return { message: e, status: undefined, type: str(body.error_type) };
  if (isObj(e)) {
    return { message: str(e.message), status: int(e.http_status_code) ?? int(e.code), type: str(e.type) ?? str(e.code) };
  }
  if (body.object === 'error') return { message: str(body.message), status: int(body.code), type: str(body.type) };
  if (typeof body.detail === 'string') return { message: body.detail, status: undefined, type: undefined };
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// In-band error chunks (HTTP 200). TGI sends `http_status_code: 422` for every mid-stream error,
// validation and generation failures alike, so the status alone cannot classify them.

const OVERLOADED = /overloaded|rate.?limit|too many requests/i;
/** TGI's InferError prefixes for failures of the generation itself. */
const GENERATION = /^(Request failed during generation|Incomplete generation)/;

function codeForEvent(e: UpstreamError, afterTokens: boolean): ErrorCode {
  const text = `${e.message ?? ''} ${e.type ?? ''}`;
  if (e.status === 429 || e.status === 503 || OVERLOADED.test(text)) return 'UPSTREAM_OVERLOADED';
  if (afterTokens) return 'UPSTREAM_GENERATION_FAILED';
  if (e.message !== undefined && GENERATION.test(e.message)) return 'UPSTREAM_GENERATION_FAILED';
  if (e.status !== undefined && e.status >= 500) return 'UPSTREAM_GENERATION_FAILED';
  // Before any token: TGI validation / template errors, vLLM BadRequest, or unknown.
  return 'UPSTREAM_REJECTED';
}

/** Maps an error chunk. `afterTokens`: content was streamed before it. */
export function openAiEventError(e: UpstreamError, afterTokens: boolean): VlpError {
  const type = e.type === undefined ? '' : ` (${cutText(e.type)})`;
  return new VlpError(codeForEvent(e, afterTokens), `${WHO} error event${type}${shown(e.message)}`);
}

// ---------------------------------------------------------------------------------------------
// HTTP statuses before streaming.

function codeForStatus(status: number): ErrorCode {
  if (status === 429 || status === 503) return 'UPSTREAM_OVERLOADED';
  if (status === 408) return 'UPSTREAM_TIMEOUT';
  if (status === 424) return 'UPSTREAM_GENERATION_FAILED'; // TGI: the generation itself failed
  // 400 bad request, 401/403 bad key, 404 unknown model or route, 413, 415, 422 validation/template.
  if (status >= 400 && status < 500) return 'UPSTREAM_REJECTED';
  // 500, 502/504 from a proxy, anything else.
  return 'UPSTREAM_GENERATION_FAILED';
}

/** Maps a non-200 answer. `body` is the start of the response body; only a JSON error's message
 *  is shown (plain-text bodies from proxies or axum rejections may quote the request). */
export function openAiHttpError(status: number, retryAfter: string | string[] | undefined, body: string): VlpError {
  const code = codeForStatus(status);
  const retryAfterS = code === 'UPSTREAM_OVERLOADED' ? cappedRetryAfter(retryAfter) : undefined;
  let message: string | undefined;
  try {
    message = readUpstreamError(JSON.parse(body))?.message;
  } catch {
    // not JSON: withhold it
  }
  return new VlpError(code, `${WHO} answered HTTP ${status}${shown(message)}`, retryAfterS === undefined ? {} : { retryAfterS });
}

// ---------------------------------------------------------------------------------------------
// Transport errors (undici / node:net), timeouts, protocol faults.

const TIMEOUTS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** Maps a transport failure. `phase` 'request' = before response headers, 'stream' = while
 *  reading the body (where any socket failure is a reset). */
export function openAiTransportError(err: unknown, phase: 'request' | 'stream'): VlpError {
  const code = errorCodeOf(err) ?? 'unknown';
  if (TIMEOUTS.has(code)) return new VlpError('UPSTREAM_TIMEOUT', `${WHO} timed out (${code})`, { cause: err });
  if (phase === 'request' && (UNREACHABLE_CODES.has(code) || code === 'unknown')) {
    return new VlpError('UPSTREAM_UNAVAILABLE', `${WHO} unreachable (${code})`, { cause: err });
  }
  return new VlpError('UPSTREAM_RESET', `${WHO} connection closed before the stream ended (${code})`, { cause: err });
}

export function openAiTimeoutError(kind: 'first-token' | 'inter-token', ms: number): VlpError {
  return new VlpError('UPSTREAM_TIMEOUT', `${WHO} sent no token within the ${kind} timeout of ${ms} ms`);
}

/** The stream ended (body end or `[DONE]`) before any choice carried a finish_reason. */
export function openAiEndedEarlyError(): VlpError {
  return new VlpError('UPSTREAM_RESET', `${WHO} stream ended without a finish_reason`);
}

/** `what` is a fixed description; never pass upstream bytes (they may echo the prompt). */
export function openAiProtocolError(what: string): VlpError {
  return new VlpError('UPSTREAM_PROTOCOL', `${WHO} protocol error: ${what}`);
}

export { errorCodeOf };

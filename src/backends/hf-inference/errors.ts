// Maps failures of a Hugging Face inference server (Inference Endpoints running the
// huggingface-inference-toolkit, or the serverless Inference API) to stable VlpError codes.
// Error bodies are `{"error": "..."}`; the toolkit's texts may quote the request (e.g. "Body needs to
// provide a inputs key, recieved: b'…'"), so they never reach a message. The one server-made body
// read is the Inference API's cold start: 503 {"error":"Model … is currently loading","estimated_time":20.0}.
import { VlpError } from '../../../protocol/errors.ts';
import type { ErrorCode } from '../../../protocol/errors.ts';
import { cappedRetryAfter, cappedWaitS, errorCodeOf, UNREACHABLE_CODES } from '../http/upstream-errors.ts';

function codeForStatus(status: number): ErrorCode {
  switch (status) {
    case 429: // Inference API rate limit
    case 503: // model loading (cold start, scale from zero) or no healthy replica
      return 'UPSTREAM_OVERLOADED';
    case 400: // toolkit: every exception of the handler/pipeline (bad inputs, bad parameters)
    case 404:
    case 405:
    case 413:
    case 415:
    case 422:
      return 'UPSTREAM_REJECTED';
    default: // 500 from the pipeline, 502/504 from a proxy, anything else
      return 'UPSTREAM_GENERATION_FAILED';
  }
}

/** `estimated_time` (seconds) of a loading answer, if the body is one. */
function estimatedTime(body: string): number | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed === 'object' && parsed !== null && 'estimated_time' in parsed) {
      const t = parsed.estimated_time;
      if (typeof t === 'number' && Number.isFinite(t) && t >= 0) return t;
    }
  } catch {
    // not JSON
  }
  return undefined;
}

/** Maps a non-200 answer; an overloaded one carries its Retry-After, else a loading 503 its
 *  estimated_time, as retryAfterS (at most MAX_RETRY_AFTER_S, 300 s). */
export function hfHttpError(status: number, retryAfter: string | string[] | undefined, body: string): VlpError {
  const code = codeForStatus(status);
  if (code !== 'UPSTREAM_OVERLOADED') return new VlpError(code, `HF inference answered HTTP ${status}`);
  const eta = status === 503 ? estimatedTime(body) : undefined;
  const etaS = eta === undefined ? undefined : cappedWaitS(eta);
  const retryAfterS = cappedRetryAfter(retryAfter) ?? etaS;
  const what = etaS === undefined ? '' : ` (model loading, estimated ${etaS} s)`;
  return new VlpError(code, `HF inference answered HTTP ${status}${what}`, retryAfterS === undefined ? {} : { retryAfterS });
}

/** 'request' = before the response headers, 'stream' = while reading the body. */
export function hfTransportError(err: unknown, phase: 'request' | 'stream'): VlpError {
  const code = errorCodeOf(err) ?? 'unknown';
  if (phase === 'request' && (UNREACHABLE_CODES.has(code) || code === 'unknown')) {
    return new VlpError('UPSTREAM_UNAVAILABLE', `HF inference unreachable (${code})`, { cause: err });
  }
  return new VlpError('UPSTREAM_RESET', `HF inference connection closed before the answer ended (${code})`, { cause: err });
}

export function hfTimeoutError(ms: number): VlpError {
  return new VlpError('UPSTREAM_TIMEOUT', `HF inference answered nothing complete within ${ms} ms`);
}

/** `what` is a fixed description; never upstream bytes (they may echo the input). Takes no cause on
 *  purpose: a parser's error (JSON.parse, …) quotes the bytes it failed on. */
export function hfProtocolError(what: string): VlpError {
  return new VlpError('UPSTREAM_PROTOCOL', `HF inference protocol error: ${what}`);
}

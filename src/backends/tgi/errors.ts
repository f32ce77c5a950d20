// The one place that maps TGI failures to stable VlpError codes: HTTP statuses before the stream,
// in-band SSE error events, transport (socket/DNS/connect) errors, timeouts and protocol faults.
// Messages never contain the prompt; TGI's own error text is included, cut to 200 characters.
import { cappedRetryAfter, cutText, errorCodeOf, jsonErrorText, UNREACHABLE_CODES } from '../http/upstream-errors.ts';
import { VlpError } from '../../../protocol/errors.ts';
import type { ErrorCode } from '../../../protocol/errors.ts';

// ---------------------------------------------------------------------------------------------
// In-band error events: `data:{"error":"...","error_type":"..."}` (HTTP 200, last event).

function codeForErrorType(errorType: string): ErrorCode {
  switch (errorType) {
    case 'validation':
      return 'UPSTREAM_REJECTED';
    case 'overloaded':
      return 'UPSTREAM_OVERLOADED';
    // generation, incomplete_generation, incomplete_generation_stream, and the types the native
    // stream does not emit (template_error, tool_error, stream_serialization_error, ...).
    default:
      return 'UPSTREAM_GENERATION_FAILED';
  }
}

/** Maps a TGI error event. `error` is TGI's own message (router-made, no prompt text). */
export function tgiEventError(error: unknown, errorType: unknown): VlpError {
  const type = typeof errorType === 'string' ? errorType : 'unknown';
  const text = typeof error === 'string' ? `: ${cutText(error)}` : '';
  return new VlpError(codeForErrorType(type), `TGI ${cutText(type)} error${text}`);
}

// ---------------------------------------------------------------------------------------------
// HTTP statuses before streaming (proxies, axum rejections, /generate-style errors).

function codeForStatus(status: number): ErrorCode {
  switch (status) {
    case 429: // TGI: max_concurrent_requests exhausted
    case 503: // unhealthy / load balancer without a healthy target
      return 'UPSTREAM_OVERLOADED';
    case 400: // axum: body is not JSON
    case 413: // axum: body over the payload limit
    case 415: // axum: content-type is not application/json
    case 422: // TGI validation, or axum: JSON does not fit the request type
      return 'UPSTREAM_REJECTED';
    default: // 424 generation, 500 incomplete generation, 502/504 from a proxy, anything else
      return 'UPSTREAM_GENERATION_FAILED';
  }
}


/** Maps a non-200 answer. `body` is the (start of the) response body: its text is shown only when
 *  it is TGI's JSON ErrorResponse; plain-text bodies (axum rejections, proxies) may quote request
 *  content, so they are withheld. */
export function tgiHttpError(status: number, retryAfter: string | string[] | undefined, body: string): VlpError {
  const code = codeForStatus(status);
  const retryAfterS = code === 'UPSTREAM_OVERLOADED' ? cappedRetryAfter(retryAfter) : undefined;
  const message = jsonErrorText(body);
  const text = message === undefined ? '' : `: ${cutText(message)}`;
  return new VlpError(code, `TGI answered HTTP ${status}${text}`, retryAfterS === undefined ? {} : { retryAfterS });
}

// ---------------------------------------------------------------------------------------------
// Transport errors (undici / node:net), timeouts, protocol faults.

const TIMEOUTS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);


/** Maps a transport failure. `phase` 'request' = before response headers, 'stream' = while
 *  reading the body (where any socket failure is a reset). */
export function tgiTransportError(err: unknown, phase: 'request' | 'stream'): VlpError {
  const code = errorCodeOf(err) ?? 'unknown';
  if (TIMEOUTS.has(code)) return new VlpError('UPSTREAM_TIMEOUT', `TGI timed out (${code})`, { cause: err });
  if (phase === 'request' && UNREACHABLE_CODES.has(code)) {
    return new VlpError('UPSTREAM_UNAVAILABLE', `TGI unreachable (${code})`, { cause: err });
  }
  if (phase === 'request' && code === 'unknown') {
    return new VlpError('UPSTREAM_UNAVAILABLE', 'TGI request failed', { cause: err });
  }
  return new VlpError('UPSTREAM_RESET', `TGI connection closed before the stream ended (${code})`, { cause: err });
}

export function tgiTimeoutError(kind: 'first-token' | 'inter-token', ms: number): VlpError {
  return new VlpError('UPSTREAM_TIMEOUT', `TGI sent no token within the ${kind} timeout of ${ms} ms`);
}

/** The body ended cleanly but without the final event (the one with generated_text). */
export function tgiEndedEarlyError(): VlpError {
  return new VlpError('UPSTREAM_RESET', 'TGI stream ended without a final event');
}

/** `what` is a fixed description; never pass upstream bytes (they may echo the prompt). Takes no
 *  cause on purpose: a parser's error (JSON.parse, …) quotes the bytes it failed on. */
export function tgiProtocolError(what: string): VlpError {
  return new VlpError('UPSTREAM_PROTOCOL', `TGI protocol error: ${what}`);
}

export { errorCodeOf };

// The one place that maps Grounded-SAM service failures to stable VlpError codes: HTTP statuses
// before the stream, in-band error lines, transport errors, timeouts and protocol faults.
import { VlpError } from '../../../protocol/errors.ts';
import type { ErrorCode } from '../../../protocol/errors.ts';
import { cappedRetryAfter, cutText, errorCodeOf, jsonErrorText, UNREACHABLE_CODES } from '../http/upstream-errors.ts';

function codeForErrorType(errorType: string): ErrorCode {
  switch (errorType) {
    case 'validation':
      return 'UPSTREAM_REJECTED';
    case 'overloaded':
    case 'unavailable':
      return 'UPSTREAM_OVERLOADED';
    default: // segmentation, detection, internal, anything new
      return 'UPSTREAM_GENERATION_FAILED';
  }
}

/** An `{"type":"error","error","error_type"}` line mid-stream. */
export function gsamLineError(error: unknown, errorType: unknown): VlpError {
  const type = typeof errorType === 'string' ? errorType : 'unknown';
  const text = typeof error === 'string' ? `: ${cutText(error)}` : '';
  return new VlpError(codeForErrorType(type), `Grounded-SAM ${cutText(type)} error${text}`);
}

function codeForStatus(status: number): ErrorCode {
  if (status === 429 || status === 503) return 'UPSTREAM_OVERLOADED';
  if (status >= 400 && status < 500) return 'UPSTREAM_REJECTED';
  if (status >= 500) return 'UPSTREAM_GENERATION_FAILED';
  return 'UPSTREAM_PROTOCOL'; // 1xx/2xx other than 200, 3xx: not part of the contract
}

/** A non-200 answer; `body` is the start of its body. Only the service's JSON `error` text is
 *  shown (plain-text proxy bodies are withheld). */
export function gsamHttpError(status: number, retryAfter: string | string[] | undefined, body: string): VlpError {
  const code = codeForStatus(status);
  const retryAfterS = code === 'UPSTREAM_OVERLOADED' ? cappedRetryAfter(retryAfter) : undefined;
  const message = jsonErrorText(body);
  const text = message === undefined ? '' : `: ${cutText(message)}`;
  return new VlpError(code, `Grounded-SAM answered HTTP ${status}${text}`, retryAfterS === undefined ? {} : { retryAfterS });
}

/** A transport failure: 'request' = before response headers, 'stream' = while reading the body. */
export function gsamTransportError(err: unknown, phase: 'request' | 'stream'): VlpError {
  const code = errorCodeOf(err) ?? 'unknown';
  if (phase === 'request' && (UNREACHABLE_CODES.has(code) || code === 'unknown')) {
    return new VlpError('UPSTREAM_UNAVAILABLE', `Grounded-SAM unreachable (${code})`, { cause: err });
  }
  return new VlpError('UPSTREAM_RESET', `Grounded-SAM connection closed before the stream ended (${code})`, { cause: err });
}

export function gsamTimeoutError(kind: 'first-event' | 'inter-event', ms: number): VlpError {
  return new VlpError('UPSTREAM_TIMEOUT', `Grounded-SAM sent nothing within the ${kind} timeout of ${ms} ms`);
}

export function gsamEndedEarlyError(): VlpError {
  return new VlpError('UPSTREAM_RESET', 'Grounded-SAM stream ended without a done line');
}

/** `what` is a fixed description; never upstream bytes. */
export function gsamProtocolError(what: string): VlpError {
  return new VlpError('UPSTREAM_PROTOCOL', `Grounded-SAM protocol error: ${what}`);
}

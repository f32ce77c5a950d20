// The one place that maps ASR upstream failures to stable VlpError codes: WhisperLive status
// messages, WebSocket handshake/transport failures and closes, whisper-asr-webservice HTTP statuses
// and transport errors, timeouts and protocol faults. SageMaker failures go through
// sagemaker/errors.ts (the same SDK exceptions as for text generation).
// Messages never carry transcripts or request content; upstream text is cut to 200 characters.
import { VlpError } from '../../../protocol/errors.ts';
import type { ErrorCode } from '../../../protocol/errors.ts';
import { cappedRetryAfter, cappedWaitS, cutText, errorCodeOf, UNREACHABLE_CODES } from '../http/upstream-errors.ts';

const TIMEOUTS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

/** A transcription request (or the WhisperLive connect) exceeded its deadline. */
export function asrTimeoutError(service: string, what: string, ms: number): VlpError {
  return new VlpError('UPSTREAM_TIMEOUT', `${service}: ${what} took longer than ${ms} ms`);
}

/** `what` is a fixed description; never pass upstream bytes (they may carry a transcript). Takes
 *  no cause on purpose: what fails to parse is upstream bytes, and the parser's error (JSON.parse,
 *  a fatal TextDecoder, a schema) quotes them, so attaching it would carry the transcript into logs. */
export function asrProtocolError(service: string, what: string): VlpError {
  return new VlpError('UPSTREAM_PROTOCOL', `${service} protocol error: ${what}`);
}

// ---------------------------------------------------------------------------------------------
// WhisperLive (backend-protocols §5.2)

const WL = 'WhisperLive';

/** `{"status":"WAIT","message":<minutes>}`: the server is at max_clients. The minutes become
 *  retryAfterS (at least 1 s, at most MAX_RETRY_AFTER_S, 300 s, like an HTTP Retry-After). */
export function whisperLiveWaitError(minutes: unknown): VlpError {
  const m = typeof minutes === 'number' ? minutes : typeof minutes === 'string' ? Number(minutes) : NaN;
  const s = Number.isFinite(m) ? cappedWaitS(m * 60) : undefined;
  const retryAfterS = s === undefined ? undefined : Math.max(1, s);
  return new VlpError('UPSTREAM_OVERLOADED', `${WL} is at its client limit (WAIT${retryAfterS === undefined ? '' : `, about ${retryAfterS} s`})`, retryAfterS === undefined ? {} : { retryAfterS });
}

/** `{"status":"ERROR","message":"Failed to load model: …"}` (server-made text, no user content). */
export function whisperLiveStatusError(message: unknown): VlpError {
  const text = typeof message === 'string' ? `: ${cutText(message)}` : '';
  return new VlpError('UPSTREAM_UNAVAILABLE', `${WL} error${text}`);
}

/** `{"message":"DISCONNECT"}`: the server's max_connection_time ran out. */
export function whisperLiveDisconnectError(): VlpError {
  return new VlpError('UPSTREAM_RESET', `${WL} ended the connection (DISCONNECT: connection time limit)`);
}

/** The socket closed without our close(). Before SERVER_READY the server also closes silently
 *  when it rejects the options. */
export function whisperLiveClosedError(code: number, ready: boolean): VlpError {
  return new VlpError('UPSTREAM_RESET', `${WL} closed the connection ${ready ? 'mid-stream' : 'before SERVER_READY'} (close code ${code})`);
}

function handshakeCode(status: number): ErrorCode {
  if (status === 429 || status === 503) return 'UPSTREAM_OVERLOADED';
  if (status === 401 || status === 403 || status >= 500) return 'UPSTREAM_UNAVAILABLE';
  return 'UPSTREAM_REJECTED';
}

/** The server (or a proxy in front of it) answered the WebSocket upgrade with an HTTP status instead
 *  of 101. An overloaded answer (429, 503) carries its Retry-After (seconds or HTTP date, at most
 *  MAX_RETRY_AFTER_S, 300 s: the voice layer waits max(1 s, retryAfterS) before reopening) as
 *  retryAfterS. The response body is not read (a proxy's page may quote the request). */
export function whisperLiveUpgradeError(status: number, retryAfter: string | string[] | undefined): VlpError {
  const code = handshakeCode(status);
  const retryAfterS = code === 'UPSTREAM_OVERLOADED' ? cappedRetryAfter(retryAfter) : undefined;
  const wait = retryAfterS === undefined ? '' : `, retry after ${retryAfterS} s`;
  return new VlpError(code, `${WL} refused the WebSocket upgrade (HTTP ${status}${wait})`, retryAfterS === undefined ? {} : { retryAfterS });
}

/** A ws 'error' event. `opened` = after the handshake (then any failure is a reset). A refused
 *  upgrade normally arrives through whisperLiveUpgradeError (the stream listens for ws's
 *  'unexpected-response', which carries the headers); ws's own error for it has only the status. */
export function whisperLiveTransportError(err: unknown, opened: boolean): VlpError {
  if (opened) return new VlpError('UPSTREAM_RESET', `${WL} connection failed mid-stream (${errorCodeOf(err) ?? 'socket error'})`, { cause: err });
  const message = err instanceof Error ? err.message : '';
  const m = /Unexpected server response: (\d{3})/.exec(message);
  if (m !== null) return whisperLiveUpgradeError(Number(m[1]), undefined);
  if (/Opening handshake has timed out/.test(message)) return new VlpError('UPSTREAM_TIMEOUT', `${WL} did not complete the WebSocket handshake in time`, { cause: err });
  const code = errorCodeOf(err);
  if (code !== undefined && !UNREACHABLE_CODES.has(code)) {
    return new VlpError('UPSTREAM_RESET', `${WL} connection failed during the handshake (${code})`, { cause: err });
  }
  return new VlpError('UPSTREAM_UNAVAILABLE', `${WL} unreachable (${code ?? 'handshake failed'})`, { cause: err });
}

// ---------------------------------------------------------------------------------------------
// whisper-asr-webservice (backend-protocols §6)

const WA = 'whisper-asr-webservice';

function httpCode(status: number): ErrorCode {
  if (status === 429 || status === 503) return 'UPSTREAM_OVERLOADED';
  if (status >= 400 && status < 500) return 'UPSTREAM_REJECTED';
  return 'UPSTREAM_GENERATION_FAILED';
}

/** FastAPI's 422 body names the offending parameter: keep `loc` and `msg` (schema-made), never
 *  `input` (it echoes the value, e.g. the initial prompt). */
function fastApiDetail(body: string): string {
  try {
    const v: unknown = JSON.parse(body);
    if (typeof v !== 'object' || v === null || !('detail' in v)) return '';
    const d: unknown = v.detail;
    if (typeof d === 'string') return `: ${cutText(d)}`;
    if (!Array.isArray(d) || d.length === 0) return '';
    const first: unknown = d[0];
    if (typeof first !== 'object' || first === null) return '';
    const loc = 'loc' in first && Array.isArray(first.loc) ? first.loc.filter((x) => typeof x === 'string' || typeof x === 'number').join('.') : '';
    const msg = 'msg' in first && typeof first.msg === 'string' ? first.msg : '';
    return loc === '' && msg === '' ? '' : `: ${cutText(`${loc}${loc && msg ? ' ' : ''}${msg}`)}`;
  } catch {
    return '';
  }
}

/** A non-200 answer; an overloaded one (429, 503) carries its Retry-After (at most
 *  MAX_RETRY_AFTER_S, 300 s) as retryAfterS. Only a 422's FastAPI detail is shown. */
export function whisperAsrHttpError(status: number, retryAfter: string | string[] | undefined, body: string): VlpError {
  const code = httpCode(status);
  const retryAfterS = code === 'UPSTREAM_OVERLOADED' ? cappedRetryAfter(retryAfter) : undefined;
  return new VlpError(code, `${WA} answered HTTP ${status}${status === 422 ? fastApiDetail(body) : ''}`, retryAfterS === undefined ? {} : { retryAfterS });
}

/** A transport failure; `phase` 'request' = before response headers, 'body' = reading it. */
export function whisperAsrTransportError(err: unknown, phase: 'request' | 'body'): VlpError {
  const code = errorCodeOf(err) ?? 'unknown';
  if (TIMEOUTS.has(code)) return new VlpError('UPSTREAM_TIMEOUT', `${WA} timed out (${code})`, { cause: err });
  if (phase === 'request' && (UNREACHABLE_CODES.has(code) || code === 'unknown')) {
    return new VlpError('UPSTREAM_UNAVAILABLE', `${WA} unreachable (${code})`, { cause: err });
  }
  return new VlpError('UPSTREAM_RESET', `${WA} connection closed before the answer was complete (${code})`, { cause: err });
}

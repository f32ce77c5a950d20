// Helpers shared by every HTTP upstream adapter: reading Retry-After and capping any wait an
// upstream names, finding the node/undici error code inside wrapped errors, the codes that mean
// "never reached", the text of a JSON error body and cutting upstream text to length.
// Vendor-neutral; each adapter maps codes in its own errors.ts.

/** The longest wait the gateway takes from an upstream, s: an HTTP Retry-After (every adapter,
 *  through cappedRetryAfter), WhisperLive's WAIT minutes or an HF loading estimate (through
 *  cappedWaitS). A proxy answering with hours must not keep a replica out of the router (its
 *  notBefore) or an ASR stream shut (the voice layer's reopen backoff) for that long. */
export const MAX_RETRY_AFTER_S = 300;

/** A wait an upstream named, in seconds (any finite number >= 0, or Infinity): rounded up, at most
 *  MAX_RETRY_AFTER_S; undefined for NaN or a negative number. */
export function cappedWaitS(seconds: number): number | undefined {
  if (Number.isNaN(seconds) || seconds < 0) return undefined;
  return Math.min(Math.ceil(seconds), MAX_RETRY_AFTER_S);
}

/** Seconds from a Retry-After header (delta-seconds or HTTP-date; the first of repeated headers),
 *  rounded up and at most MAX_RETRY_AFTER_S; undefined if absent or unparseable. The only reader
 *  of Retry-After: every adapter takes its wait from here. */
export function cappedRetryAfter(value: string | string[] | undefined, nowMs: number = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined) return undefined;
  const s = v.trim();
  if (/^\d+$/.test(s)) return cappedWaitS(Number(s));
  // An HTTP-date names a weekday or month and a time of day. Anything else ("-5", "1.5", "2025-")
  // is unparseable, not "now": Date.parse would read "-5" as a date in 2001, i.e. retry at once.
  if (!/[A-Za-z]{3}/.test(s) || !/\d{1,2}:\d{2}:\d{2}/.test(s)) return undefined;
  const at = Date.parse(s);
  return Number.isNaN(at) ? undefined : cappedWaitS(Math.max(0, (at - nowMs) / 1000));
}

/** Finds a node/undici error code, looking into AggregateError (happy eyeballs) and `cause`. */
export function errorCodeOf(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; typeof e === 'object' && e !== null && depth < 4; depth++) {
    if ('code' in e && typeof e.code === 'string') return e.code;
    if ('errors' in e && Array.isArray(e.errors) && e.errors.length > 0) e = e.errors[0];
    else e = 'cause' in e ? e.cause : undefined;
  }
  return undefined;
}

/** node/undici/TLS error codes meaning the request never reached the server process. */
export const UNREACHABLE_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN',
  'ENETDOWN', 'EADDRNOTAVAIL', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_CLOSED', 'UND_ERR_DESTROYED',
  'ERR_TLS_CERT_ALTNAME_INVALID', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'CERT_HAS_EXPIRED',
]);

/** The `error` string of a JSON `{"error": "..."}` body (TGI's ErrorResponse and the like), else
 *  undefined: plain-text bodies (proxies, axum rejections) may quote the request, so they are
 *  withheld. */
export function jsonErrorText(body: string | undefined): string | undefined {
  if (body === undefined) return undefined;
  try {
    const v: unknown = JSON.parse(body);
    return typeof v === 'object' && v !== null && 'error' in v && typeof v.error === 'string' ? v.error : undefined;
  } catch {
    return undefined;
  }
}

/** Upstream text for an error message: at most `max` UTF-16 units and "…", never splitting a
 *  surrogate pair (a lone surrogate cannot be encoded as UTF-8 on the wire). */
export function cutText(s: string, max = 200): string {
  if (s.length <= max) return s;
  const end = /[\uD800-\uDBFF]/.test(s.charAt(max - 1)) ? max - 1 : max;
  return `${s.slice(0, end)}…`;
}

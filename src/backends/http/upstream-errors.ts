// Helpers shared by every HTTP upstream adapter: Retry-After parsing, finding the node/undici
// error code inside wrapped errors, the codes that mean "never reached", the text of a JSON error
// body and cutting upstream text to length. Vendor-neutral; each adapter maps codes in its own
// errors.ts.

/** Seconds from a Retry-After header (delta-seconds or HTTP-date), rounded up; undefined if absent
 *  or unparseable. */
export function parseRetryAfter(value: string | string[] | undefined, nowMs: number = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined) return undefined;
  const s = v.trim();
  if (/^\d+$/.test(s)) return Number(s);
  const at = Date.parse(s);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - nowMs) / 1000));
}

/** The longest wait taken from an upstream's Retry-After where an adapter bounds it, s: a proxy
 *  answering with hours must not keep a stream (or a replica) shut for that long. */
export const MAX_RETRY_AFTER_S = 300;

/** parseRetryAfter, at most MAX_RETRY_AFTER_S. */
export function cappedRetryAfter(value: string | string[] | undefined, nowMs: number = Date.now()): number | undefined {
  const s = parseRetryAfter(value, nowMs);
  return s === undefined ? undefined : Math.min(s, MAX_RETRY_AFTER_S);
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

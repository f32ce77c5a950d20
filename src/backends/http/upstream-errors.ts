// Helpers shared by every HTTP upstream adapter: Retry-After parsing and finding the node/undici
// error code inside wrapped errors. Vendor-neutral; each adapter maps codes in its own errors.ts.

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

/** Finds a node/undici error code, looking into AggregateError (happy eyeballs) and `cause`. */
export function errorCodeOf(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; typeof e === 'object' && e !== null && depth < 4; depth++) {
    if ('code' in e && typeof e.code === 'string') return e.code;
    if ('errors' in e && Array.isArray(e.errors) && e.errors.length > 0) e = e.errors[0];
    else e = 'cause' in e ? e.cause : undefined;
  }
  return undefined;
}

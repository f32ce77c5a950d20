// Where a WebSocket upgrade carries its credential: `Authorization: Bearer <credential>` (any
// client that can set headers), else a `token` query parameter (browsers, which cannot set headers
// on a WebSocket). The header wins when both are present.

export type Presented =
  | { kind: 'none' }
  /** Something was sent, but not in a usable form (another scheme, two `token` parameters). */
  | { kind: 'malformed' }
  | { kind: 'header'; value: string }
  | { kind: 'query'; value: string };

/** RFC 6750 §2.1 with a case-insensitive scheme; the credential may be any visible ASCII (wider
 *  than b64token, as API keys may be: see auth.apiKeys in the config schema). */
const BEARER_RE = /^Bearer[ \t]+([\x21-\x7e]+)[ \t]*$/i;

/** The credential in an Authorization header value (undefined or '' = no header). */
export function bearerCredential(authorization: string | undefined): Presented {
  if (authorization === undefined || authorization.trim() === '') return { kind: 'none' };
  const m = BEARER_RE.exec(authorization);
  return m?.[1] === undefined ? { kind: 'malformed' } : { kind: 'header', value: m[1] };
}

/** The credential of an upgrade request: the header's, else the query's `token`. */
export function presentedCredential(authorization: string | undefined, query: string): Presented {
  const header = bearerCredential(authorization);
  if (header.kind !== 'none') return header;
  if (query === '') return header;
  const tokens = new URLSearchParams(query).getAll('token');
  if (tokens.length === 0) return { kind: 'none' };
  const [value] = tokens;
  if (tokens.length > 1 || value === undefined || value === '') return { kind: 'malformed' };
  return { kind: 'query', value };
}

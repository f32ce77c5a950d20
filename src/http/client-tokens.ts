// POST /v1/client_tokens: a holder of an API key (a backend, never a browser) mints a short-lived
// client token that a browser then puts in the WebSocket URL (?token=). Optional JSON body
// {"ttl_s": N, "max_session_s": M}: 10 ≤ N ≤ auth.tokenTtlS (default: auth.tokenTtlS); M, 1 to
// 2 592 000, caps how long the sessions it opens live (limits.maxSessionMs applies when shorter).
import type { Authenticator } from '../auth/authenticator.ts';
import type { HttpRequestInfo, HttpResponse } from '../transport/types.ts';

export const CLIENT_TOKENS_PATH = '/v1/client_tokens';

/** Shortest lifetime a client may ask for, s (as auth.tokenTtlS's own minimum). */
export const MIN_TOKEN_TTL_S = 10;
/** Bounds of a token's max_session_s claim, s (30 days at most, as limits.maxSessionMs). */
export const MIN_SESSION_CLAIM_S = 1;
export const MAX_SESSION_CLAIM_S = 30 * 86_400;

const json = (status: number, body: unknown, headers: Record<string, string> = {}): HttpResponse => ({
  status,
  headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers },
  body: JSON.stringify(body),
});

const utf8 = new TextDecoder('utf-8', { fatal: true });

export interface TokenRequest {
  ttlS: number;
  maxSessionS?: number;
}

/** What the body asks for, or why it is refused (naming fields, never echoing values). */
export function requestedToken(body: Uint8Array, maxTtlS: number): TokenRequest | string {
  let text: string;
  try {
    text = utf8.decode(body).trim();
  } catch {
    return 'the body must be UTF-8 JSON';
  }
  if (text === '') return { ttlS: maxTtlS };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return 'the body must be a JSON object';
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return 'the body must be a JSON object';
  const fields = Object.keys(parsed);
  if (fields.some((k) => k !== 'ttl_s' && k !== 'max_session_s')) return 'the body takes only the fields ttl_s and max_session_s';
  const { ttl_s: ttl, max_session_s: session } = parsed as { ttl_s?: unknown; max_session_s?: unknown };
  if (ttl !== undefined && (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < MIN_TOKEN_TTL_S || ttl > maxTtlS)) {
    return `ttl_s must be an integer from ${MIN_TOKEN_TTL_S} to ${maxTtlS}`;
  }
  if (session !== undefined && (typeof session !== 'number' || !Number.isInteger(session) || session < MIN_SESSION_CLAIM_S || session > MAX_SESSION_CLAIM_S)) {
    return `max_session_s must be an integer from ${MIN_SESSION_CLAIM_S} to ${MAX_SESSION_CLAIM_S}`;
  }
  return { ttlS: typeof ttl === 'number' ? ttl : maxTtlS, ...(typeof session === 'number' && { maxSessionS: session }) };
}

/** The route's handler; undefined (404) while authentication is off. */
export function clientTokensRoute(auth: Authenticator, method: string, req: HttpRequestInfo): HttpResponse | undefined {
  if (!auth.enabled) return undefined;
  if (method !== 'POST') return json(405, { error: 'method_not_allowed', message: 'use POST' }, { allow: 'POST' });
  const refused = auth.requireApiKey(req.header('authorization'));
  if (refused !== undefined) return refused;
  if (!auth.minting) return json(404, { error: 'client_tokens_disabled', message: 'this gateway mints no client tokens (auth.tokenSecret is not set)' });
  const asked = requestedToken(req.body, auth.tokenTtlS);
  if (typeof asked === 'string') return json(400, { error: 'invalid_request', message: asked });
  return json(200, auth.mint(asked.ttlS, asked.maxSessionS));
}

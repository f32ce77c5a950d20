// POST /v1/client_tokens: a holder of an API key (a backend, never a browser) mints a short-lived
// client token that a browser then puts in the WebSocket URL (?token=). Optional JSON body
// {"ttl_s": N}, 10 ≤ N ≤ auth.tokenTtlS (default: auth.tokenTtlS).
import type { Authenticator } from '../auth/authenticator.ts';
import type { HttpRequestInfo, HttpResponse } from '../transport/types.ts';

export const CLIENT_TOKENS_PATH = '/v1/client_tokens';

/** Shortest lifetime a client may ask for, s (as auth.tokenTtlS's own minimum). */
export const MIN_TOKEN_TTL_S = 10;

const json = (status: number, body: unknown, headers: Record<string, string> = {}): HttpResponse => ({
  status,
  headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers },
  body: JSON.stringify(body),
});

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The lifetime asked for, or why the body is refused (naming fields, never echoing values). */
export function requestedTtl(body: Uint8Array, maxTtlS: number): number | string {
  let text: string;
  try {
    text = utf8.decode(body).trim();
  } catch {
    return 'the body must be UTF-8 JSON';
  }
  if (text === '') return maxTtlS;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return 'the body must be a JSON object';
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return 'the body must be a JSON object';
  const fields = Object.keys(parsed);
  if (fields.some((k) => k !== 'ttl_s')) return 'the body takes only the field ttl_s';
  const ttl = (parsed as { ttl_s?: unknown }).ttl_s;
  if (ttl === undefined) return maxTtlS;
  if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < MIN_TOKEN_TTL_S || ttl > maxTtlS) {
    return `ttl_s must be an integer from ${MIN_TOKEN_TTL_S} to ${maxTtlS}`;
  }
  return ttl;
}

/** The route's handler; undefined (404) while authentication is off. */
export function clientTokensRoute(auth: Authenticator, method: string, req: HttpRequestInfo): HttpResponse | undefined {
  if (!auth.enabled) return undefined;
  if (method !== 'POST') return json(405, { error: 'method_not_allowed', message: 'use POST' }, { allow: 'POST' });
  const refused = auth.requireApiKey(req.header('authorization'));
  if (refused !== undefined) return refused;
  if (!auth.minting) return json(404, { error: 'client_tokens_disabled', message: 'this gateway mints no client tokens (auth.tokenSecret is not set)' });
  const ttl = requestedTtl(req.body, auth.tokenTtlS);
  if (typeof ttl === 'string') return json(400, { error: 'invalid_request', message: ttl });
  return json(200, auth.mint(ttl));
}

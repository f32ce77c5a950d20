// The HTTP answers of refused authentication: 401 with a Bearer challenge (RFC 6750 §3), 403 for
// a disallowed Origin or a client token on a route that takes API keys. Bodies are short JSON;
// none repeats what the client sent.
import type { HttpResponse } from '../transport/types.ts';

/** Why an upgrade (or an API-key route) was refused; also the metric's `reason` label. */
export type AuthRefusalReason =
  | 'missing_credentials'
  | 'invalid_credentials'
  | 'expired_token'
  | 'api_key_in_query'
  | 'origin_not_allowed';

export const AUTH_REFUSAL_REASONS: readonly AuthRefusalReason[] = [
  'missing_credentials',
  'invalid_credentials',
  'expired_token',
  'api_key_in_query',
  'origin_not_allowed',
];

const REALM = 'Bearer realm="vlp-live"';

const json = (status: number, headers: Record<string, string>, error: string, message: string): HttpResponse => ({
  status,
  headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers },
  body: JSON.stringify({ error, message }),
});

const challenge = (error: string, description: string): Record<string, string> => ({
  'www-authenticate': `${REALM}, error="${error}", error_description="${description}"`,
});

export function refusal(reason: AuthRefusalReason): HttpResponse {
  switch (reason) {
    case 'missing_credentials':
      return json(401, { 'www-authenticate': REALM }, 'unauthorized', 'credentials required: Authorization: Bearer <API key or client token>, or ?token=<client token>');
    case 'invalid_credentials':
      return json(401, challenge('invalid_token', 'invalid credentials'), 'invalid_token', 'invalid credentials');
    case 'expired_token':
      return json(401, challenge('invalid_token', 'the token has expired'), 'invalid_token', 'the client token has expired: mint a new one');
    case 'api_key_in_query':
      return json(401, challenge('invalid_token', 'API keys are not accepted in the URL'), 'invalid_token', 'API keys are not accepted in the URL (send Authorization: Bearer, or a client token in ?token=); rotate this key');
    case 'origin_not_allowed':
      return json(403, {}, 'origin_not_allowed', 'this Origin may not open WebSockets on this gateway');
    default: {
      const never: never = reason;
      throw new Error(`unknown refusal reason ${String(never)}`);
    }
  }
}

/** A valid client token where an API key is needed (minting, /metrics). */
export const CLIENT_TOKEN_NOT_ENOUGH: HttpResponse = json(
  403,
  { 'www-authenticate': `${REALM}, error="insufficient_scope", error_description="this route takes an API key"` },
  'insufficient_scope',
  'client tokens only open WebSockets: this route takes an API key',
);

// The SDK's side of the WebSocket handshake: the Authorization header from apiKey / token, the
// typed error for a refused handshake (401, 403, others), and the URL as error messages show it
// (without its query, which may carry a client token).
import { VlpClientError } from './errors.ts';

/** `Bearer <credential>`, undefined without one, or the error for asking both. */
export function authorizationHeader(opts: { apiKey?: string; token?: string }): string | undefined | VlpClientError {
  const { apiKey, token } = opts;
  if (apiKey !== undefined && token !== undefined) {
    return new VlpClientError('CLIENT_CONNECT_FAILED', 'give apiKey or token, not both', { retryable: false });
  }
  const credential = apiKey ?? token;
  if (credential === undefined) return undefined;
  if (!/^[\x21-\x7e]+$/.test(credential)) {
    return new VlpClientError('CLIENT_CONNECT_FAILED', `${apiKey !== undefined ? 'apiKey' : 'token'} must be printable ASCII without spaces`, { retryable: false });
  }
  return `Bearer ${credential}`;
}

/** The URL without its query and fragment ("ws://h/v1/ws?…" when it had a query). */
export function displayUrl(url: string): string {
  const cut = url.search(/[?#]/);
  return cut === -1 ? url : `${url.slice(0, cut)}?…`;
}

export function handshakeError(where: string, status: number): VlpClientError {
  switch (status) {
    case 401:
      return new VlpClientError('CLIENT_UNAUTHORIZED', `${where} refused the credentials (HTTP 401): an API key or a client token is missing, wrong or expired`, { retryable: false });
    case 403:
      return new VlpClientError('CLIENT_FORBIDDEN', `${where} refused the connection (HTTP 403): Origin not allowed`, { retryable: false });
    default:
      // As ws itself reports it (a draining gateway answers 503: retry elsewhere or later).
      return new VlpClientError('CLIENT_CONNECT_FAILED', `cannot connect to ${where}: Unexpected server response: ${status}`, { retryable: true });
  }
}

// Shared by the client-authentication integration tests: the keys and secret they configure, an
// upgrade attempt that reports the refusal (status, headers, body), and the client-token route.
import WebSocket from 'ws';
import { startStack, type Stack, type TransportKind } from './harness.ts';
import type { ConfigInput } from '../src/config/schema.ts';

export const API_KEY = 'it-api-key-0123456789abcdef';
export const OTHER_KEY = 'it-other-key-0123456789abcdef';
export const TOKEN_SECRET = 'it-token-secret-0123456789-0123456789-xyz';

/** Auth on with one key and client tokens (600 s), unless `auth` says otherwise. */
export function authStack(transport: TransportKind, auth: ConfigInput['auth'] = { apiKeys: [API_KEY], tokenSecret: TOKEN_SECRET }, nowMs?: () => number): Promise<Stack> {
  return startStack(transport, { config: { auth }, ...(nowMs !== undefined && { nowMs }) });
}

export const bearer = (credential: string): Record<string, string> => ({ authorization: `Bearer ${credential}` });

export interface UpgradeOutcome {
  status: number | 'open';
  wwwAuthenticate: string | undefined;
  body: string;
}

/** Try the upgrade with these headers (and the URL's query): 'open' or the refusal. */
export function tryUpgrade(url: string, headers: Record<string, string> = {}): Promise<UpgradeOutcome> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ['vlp.v1.msgpack'], { headers });
    ws.once('open', () => {
      ws.close();
      resolve({ status: 'open', wwwAuthenticate: undefined, body: '' });
    });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString('utf8')));
      res.on('end', () => {
        ws.terminate();
        const challenge = res.headers['www-authenticate'];
        resolve({ status: res.statusCode ?? 0, wwwAuthenticate: Array.isArray(challenge) ? challenge.join(', ') : challenge, body });
      });
    });
    ws.once('error', reject);
  });
}

/** The WebSocket URL with a `token` query parameter. */
export const withToken = (url: string, token: string): string => `${url}?token=${encodeURIComponent(token)}`;

/** POST /v1/client_tokens. */
export async function mintToken(stack: Stack, headers: Record<string, string>, body?: string): Promise<{ status: number; json: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(`${stack.httpBase}/v1/client_tokens`, { method: 'POST', headers, ...(body !== undefined && { body }) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

/** A token minted with API_KEY (fails the test otherwise). */
export async function mintedToken(stack: Stack, ttlS?: number): Promise<{ token: string; expires_at: number }> {
  const r = await mintToken(stack, bearer(API_KEY), ttlS === undefined ? undefined : JSON.stringify({ ttl_s: ttlS }));
  if (r.status !== 200) throw new Error(`minting failed: ${r.status} ${JSON.stringify(r.json)}`);
  return r.json as { token: string; expires_at: number };
}

/** vlp_upgrades_refused_total for one reason. */
export async function refusedCount(stack: Stack, reason: string): Promise<number> {
  const m = await stack.gw.metrics.upgradesRefusedTotal.get();
  return m.values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

/** Connections the gateway opened (each could have started a session). */
export async function connectionsOpened(stack: Stack): Promise<number> {
  return (await stack.gw.metrics.connectionsTotal.get()).values[0]?.value ?? 0;
}

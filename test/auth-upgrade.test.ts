// Integration, both transports: with API keys configured, the WebSocket upgrade needs an API key or
// a client token (Authorization: Bearer) or a client token in ?token=; everything else is refused
// with 401 (or 403 for a disallowed Origin) before any connection or session exists. Without keys,
// anyone connects as before.
import { afterEach, describe, expect, it } from 'vitest';
import { ClientTokenSigner } from '../src/auth/client-token.ts';
import { RawClient, startStack, TRANSPORTS, type Stack } from './harness.ts';
import { API_KEY, OTHER_KEY, TOKEN_SECRET, authStack, bearer, connectionsOpened, mintedToken, refusedCount, tryUpgrade, withToken } from './auth-helpers.ts';

let stack: Stack | undefined;
const clients: RawClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await stack?.close();
  stack = undefined;
});

async function session(url: string, headers: Record<string, string> = {}): Promise<RawClient> {
  const c = await RawClient.session(url, 'vlp.v1.msgpack', {}, headers);
  clients.push(c);
  return c;
}

describe.each(TRANSPORTS)('client authentication on %s', (transport) => {
  it('refuses an upgrade without credentials: 401, WWW-Authenticate: Bearer, no connection, no session', async () => {
    stack = await authStack(transport);
    const r = await tryUpgrade(stack.url);
    expect(r.status).toBe(401);
    expect(r.wwwAuthenticate).toBe('Bearer realm="vlp-live"');
    expect(JSON.parse(r.body)).toMatchObject({ error: 'unauthorized' });
    expect(await connectionsOpened(stack)).toBe(0);
    expect(stack.gw.sessions.size).toBe(0);
    expect(await refusedCount(stack, 'missing_credentials')).toBe(1);
  });

  it('refuses a wrong API key (401) and admits the right one in the header (ready)', async () => {
    stack = await authStack(transport);
    const wrong = await tryUpgrade(stack.url, bearer(OTHER_KEY));
    expect(wrong.status).toBe(401);
    expect(wrong.wwwAuthenticate).toMatch(/^Bearer realm="vlp-live", error="invalid_token"/);
    expect((await tryUpgrade(stack.url, { authorization: `Basic ${API_KEY}` })).status).toBe(401);
    expect(await connectionsOpened(stack)).toBe(0);
    const c = await session(stack.url, bearer(API_KEY));
    expect(c.frames[0]).toMatchObject({ t: 'ready' });
    expect(stack.gw.sessions.size).toBe(1);
    expect(await refusedCount(stack, 'invalid_credentials')).toBe(2);
  });

  it('admits a minted client token in ?token= (browsers) and in the header', async () => {
    stack = await authStack(transport);
    const { token } = await mintedToken(stack);
    const viaQuery = await session(withToken(stack.url, token));
    expect(viaQuery.frames[0]).toMatchObject({ t: 'ready' });
    const viaHeader = await session(stack.url, bearer(token));
    expect(viaHeader.frames[0]).toMatchObject({ t: 'ready' });
    // A session opened with a token works like any other.
    viaQuery.send({ t: 'turn.start', id: 'a', text: 'hello', params: { max_new_tokens: 3 } });
    await viaQuery.waitFor((m) => m.t === 'gen.done');
  });

  it('refuses an expired token: the clock past expires_at, or one built with a past expiry (401)', async () => {
    let now = Date.now();
    stack = await authStack(transport, undefined, () => now);
    const { token, expires_at } = await mintedToken(stack, 30);
    expect((await tryUpgrade(withToken(stack.url, token))).status).toBe('open');
    now = expires_at * 1000;
    const late = await tryUpgrade(withToken(stack.url, token));
    expect(late.status).toBe(401);
    expect(late.wwwAuthenticate).toMatch(/error="invalid_token", error_description="the token has expired"/);
    const past = new ClientTokenSigner(TOKEN_SECRET).mint(Math.floor(now / 1000) - 1);
    expect((await tryUpgrade(stack.url, bearer(past))).status).toBe(401);
    expect(await refusedCount(stack, 'expired_token')).toBe(2);
  });

  it('refuses a tampered token and one signed with another secret (401)', async () => {
    stack = await authStack(transport);
    const { token } = await mintedToken(stack);
    const [v, expiry, nonce, mac] = token.split('.') as [string, string, string, string];
    const tampered = [
      [v, String(Number(expiry) + 3600), nonce, mac].join('.'),
      [v, expiry, `${nonce[0] === 'A' ? 'B' : 'A'}${nonce.slice(1)}`, mac].join('.'),
      [v, expiry, nonce, `${mac[0] === 'A' ? 'B' : 'A'}${mac.slice(1)}`].join('.'),
      new ClientTokenSigner('another-secret-0123456789-0123456789').mint(Number(expiry)),
    ];
    for (const t of tampered) {
      expect((await tryUpgrade(withToken(stack.url, t))).status).toBe(401);
      expect((await tryUpgrade(stack.url, bearer(t))).status).toBe(401);
    }
    expect(await connectionsOpened(stack)).toBe(0);
  });

  it('refuses an API key in the URL (401): long-lived keys stay out of URLs', async () => {
    stack = await authStack(transport);
    const r = await tryUpgrade(withToken(stack.url, API_KEY));
    expect(r.status).toBe(401);
    expect(r.body).not.toContain(API_KEY);
    expect(await refusedCount(stack, 'api_key_in_query')).toBe(1);
  });

  it('refuses a disallowed Origin with 403, even with a valid key; admits an allowed one', async () => {
    stack = await authStack(transport, { apiKeys: [API_KEY], tokenSecret: TOKEN_SECRET, allowedOrigins: ['https://app.example.com'] });
    const r = await tryUpgrade(stack.url, { ...bearer(API_KEY), origin: 'https://evil.example.com' });
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body)).toMatchObject({ error: 'origin_not_allowed' });
    expect(await refusedCount(stack, 'origin_not_allowed')).toBe(1);
    const { token } = await mintedToken(stack);
    const c = await session(withToken(stack.url, token), { origin: 'https://app.example.com' });
    expect(c.frames[0]).toMatchObject({ t: 'ready' });
  });

  it('without API keys, connects without credentials as before (and has no client-token route)', async () => {
    stack = await startStack(transport);
    const c = await session(stack.url);
    expect(c.frames[0]).toMatchObject({ t: 'ready' });
    expect((await fetch(`${stack.httpBase}/v1/client_tokens`, { method: 'POST' })).status).toBe(404);
    const metrics = await fetch(`${stack.httpBase}/metrics`);
    expect(metrics.status).toBe(200);
    // The gate ran and refused nothing.
    expect(await metrics.text()).toMatch(/vlp_upgrades_refused_total\{reason="missing_credentials"\} 0/);
  });
});

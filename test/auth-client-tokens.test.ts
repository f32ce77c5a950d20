// Integration, both transports: POST /v1/client_tokens mints client tokens for holders of an API
// key (not for anyone else, nor for a client token), bounded by auth.tokenTtlS; without a token
// secret it mints none. /healthz and /readyz stay open; /metrics needs an API key.
import { afterEach, describe, expect, it } from 'vitest';
import { TRANSPORTS, type Stack } from './harness.ts';
import { API_KEY, OTHER_KEY, TOKEN_SECRET, authStack, bearer, mintToken, mintedToken, tryUpgrade, withToken } from './auth-helpers.ts';

let stack: Stack | undefined;

afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

describe.each(TRANSPORTS)('client tokens on %s', (transport) => {
  it('refuses to mint without an API key or with a wrong one (401), or for a client token (403)', async () => {
    stack = await authStack(transport);
    const none = await mintToken(stack, {});
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="vlp-live"');
    const wrong = await mintToken(stack, bearer(OTHER_KEY));
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
    const { token } = await mintedToken(stack);
    const scoped = await mintToken(stack, bearer(token));
    expect(scoped.status).toBe(403);
    expect(scoped.json).toMatchObject({ error: 'insufficient_scope' });
    expect((await tryUpgrade(withToken(stack.url, 'vlp1.0.x.y'))).status).toBe(401);
  });

  it('mints with an API key: 200, {token, expires_at}, not cacheable; the token opens a session', async () => {
    let now = 1_800_000_000_000;
    stack = await authStack(transport, undefined, () => now);
    const r = await mintToken(stack, bearer(API_KEY));
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(Object.keys(r.json).sort()).toEqual(['expires_at', 'token']);
    expect(r.json.expires_at).toBe(1_800_000_000 + 600);
    expect(r.json.token).toEqual(expect.any(String));
    now += 599_000;
    expect((await tryUpgrade(withToken(stack.url, r.json.token as string))).status).toBe('open');
  });

  it('honours ttl_s within 10..tokenTtlS and refuses others (400)', async () => {
    const now = 1_800_000_000_000;
    stack = await authStack(transport, { apiKeys: [API_KEY], tokenSecret: TOKEN_SECRET, tokenTtlS: 120 }, () => now);
    expect((await mintedToken(stack)).expires_at).toBe(1_800_000_000 + 120);
    expect((await mintedToken(stack, 30)).expires_at).toBe(1_800_000_000 + 30);
    const tooLong = await mintToken(stack, bearer(API_KEY), JSON.stringify({ ttl_s: 121 }));
    expect(tooLong.status).toBe(400);
    expect(tooLong.json).toEqual({ error: 'invalid_request', message: 'ttl_s must be an integer from 10 to 120' });
    expect((await mintToken(stack, bearer(API_KEY), 'not json')).status).toBe(400);
    expect((await fetch(`${stack.httpBase}/v1/client_tokens`, { headers: bearer(API_KEY) })).status).toBe(405);
  });

  it('without a token secret mints none (404) and accepts only API keys', async () => {
    stack = await authStack(transport, { apiKeys: [API_KEY] });
    const r = await mintToken(stack, bearer(API_KEY));
    expect(r.status).toBe(404);
    expect(r.json).toMatchObject({ error: 'client_tokens_disabled' });
    expect((await mintToken(stack, {})).status).toBe(401);
    expect((await tryUpgrade(stack.url, bearer(API_KEY))).status).toBe('open');
  });

  it('keeps /healthz and /readyz open; /metrics needs an API key and counts refused upgrades', async () => {
    stack = await authStack(transport);
    expect((await fetch(`${stack.httpBase}/healthz`)).status).toBe(200);
    expect((await fetch(`${stack.httpBase}/readyz`)).status).toBe(200);
    await tryUpgrade(stack.url);
    const open = await fetch(`${stack.httpBase}/metrics`);
    expect(open.status).toBe(401);
    expect(await open.text()).not.toMatch(/vlp_/);
    const { token } = await mintedToken(stack);
    expect((await fetch(`${stack.httpBase}/metrics`, { headers: bearer(token) })).status).toBe(403);
    const m = await fetch(`${stack.httpBase}/metrics`, { headers: bearer(API_KEY) });
    expect(m.status).toBe(200);
    const text = await m.text();
    expect(text).toMatch(/vlp_upgrades_refused_total\{reason="missing_credentials"\} 1/);
    expect(text).toMatch(/vlp_upgrades_refused_total\{reason="expired_token"\} 0/);
  });
});

// The Authenticator on its own: the upgrade gate's verdicts and their metric, the API-key check of
// HTTP routes, minting with a controlled clock, and the warning about a key sent in a URL.
import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { captureLog } from '../observability/log-capture.testkit.ts';
import { AuthSchema, type AuthConfig } from '../config/schema.ts';
import type { HttpResponse, UpgradeRequestInfo } from '../transport/types.ts';
import { Authenticator } from './authenticator.ts';
import { ClientTokenSigner } from './client-token.ts';

const KEY = 'test-api-key-0123456789';
const SECRET = 'test-token-secret-0123456789-abcdefghij';

function setup(auth: Partial<AuthConfig> = { apiKeys: [KEY], tokenSecret: SECRET }) {
  const registry = new Registry();
  const refused = new Counter({ name: 'refused', help: 'h', labelNames: ['reason'], registers: [registry] });
  const captured = captureLog('debug');
  let now = 1_700_000_000_000;
  const a = new Authenticator(AuthSchema.parse(auth), { refused, log: captured.log, nowMs: () => now });
  const count = async (reason: string): Promise<number> => {
    const m = await refused.get();
    return m.values.find((v) => v.labels.reason === reason)?.value ?? -1;
  };
  return { a, captured, count, advance: (ms: number) => (now += ms), nowS: () => Math.floor(now / 1000) };
}

function upgrade(headers: Record<string, string>, query = ''): UpgradeRequestInfo {
  return { header: (n) => headers[n], query };
}

const status = (r: HttpResponse | undefined): number | 'admitted' => r?.status ?? 'admitted';

describe('Authenticator.admitUpgrade', () => {
  it('admits an API key or a client token in the header, a client token in the query', () => {
    const { a } = setup();
    const { token } = a.mint(60);
    expect(status(a.admitUpgrade(upgrade({ authorization: `Bearer ${KEY}` })))).toBe('admitted');
    expect(status(a.admitUpgrade(upgrade({ authorization: `Bearer ${token}` })))).toBe('admitted');
    expect(status(a.admitUpgrade(upgrade({}, `token=${encodeURIComponent(token)}`)))).toBe('admitted');
  });

  it('refuses missing, wrong, tampered and expired credentials with 401 and a Bearer challenge, counting each reason', async () => {
    const { a, count, advance } = setup();
    const missing = a.admitUpgrade(upgrade({}));
    expect(missing?.status).toBe(401);
    expect(missing?.headers['www-authenticate']).toBe('Bearer realm="vlp-live"');
    const wrong = a.admitUpgrade(upgrade({ authorization: 'Bearer not-the-key-0123456789' }));
    expect(wrong?.status).toBe(401);
    expect(wrong?.headers['www-authenticate']).toMatch(/^Bearer realm="vlp-live", error="invalid_token"/);
    expect(status(a.admitUpgrade(upgrade({ authorization: `Basic ${KEY}` })))).toBe(401);
    const { token } = a.mint(60);
    expect(status(a.admitUpgrade(upgrade({}, `token=${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`)))).toBe(401);
    advance(60_000);
    const expired = a.admitUpgrade(upgrade({}, `token=${token}`));
    expect(expired?.status).toBe(401);
    expect(String(expired?.body)).toMatch(/expired/);
    expect([await count('missing_credentials'), await count('invalid_credentials'), await count('expired_token')]).toEqual([1, 3, 1]);
    // Nothing the client sent comes back in an answer.
    for (const r of [missing, wrong, expired]) expect(JSON.stringify(r)).not.toContain(token);
  });

  it('refuses an API key in the query and warns once a minute with its position, never the key', async () => {
    const { a, captured, count, advance } = setup({ apiKeys: ['other-key-0123456789', KEY], tokenSecret: SECRET });
    expect(status(a.admitUpgrade(upgrade({}, `token=${KEY}`)))).toBe(401);
    expect(status(a.admitUpgrade(upgrade({}, `token=${KEY}`)))).toBe(401);
    expect(await count('api_key_in_query')).toBe(2);
    const warns = () => captured.lines().filter((l) => l.level === 40);
    expect(warns()).toHaveLength(1);
    expect(warns()[0]).toMatchObject({ keyIndex: 1 });
    advance(60_000);
    a.admitUpgrade(upgrade({}, `token=${KEY}`));
    expect(warns()).toHaveLength(2);
    expect(captured.raw()).not.toContain(KEY);
  });

  it('accepts no client token when no secret is configured', () => {
    const withSecret = setup().a;
    const { a } = setup({ apiKeys: [KEY] });
    expect(a.minting).toBe(false);
    const { token } = withSecret.mint(60);
    expect(status(a.admitUpgrade(upgrade({ authorization: `Bearer ${token}` })))).toBe(401);
    expect(() => a.mint(60)).toThrow(/disabled/);
  });

  it('checks the Origin against a non-empty allow-list first (403), even with authentication off', async () => {
    const { a, count } = setup({ apiKeys: [KEY], allowedOrigins: ['https://app.example.com'] });
    const ok = { authorization: `Bearer ${KEY}` };
    expect(status(a.admitUpgrade(upgrade({ ...ok, origin: 'https://app.example.com' })))).toBe('admitted');
    expect(status(a.admitUpgrade(upgrade({ ...ok, origin: 'HTTPS://APP.example.com' })))).toBe('admitted');
    expect(status(a.admitUpgrade(upgrade({ ...ok })))).toBe('admitted');
    expect(status(a.admitUpgrade(upgrade({ ...ok, origin: 'https://evil.example.com' })))).toBe(403);
    expect(status(a.admitUpgrade(upgrade({ origin: 'https://evil.example.com' })))).toBe(403);
    expect(await count('origin_not_allowed')).toBe(2);
    const off = setup({ allowedOrigins: ['https://app.example.com'] }).a;
    expect(off.enabled).toBe(false);
    expect(status(off.admitUpgrade(upgrade({})))).toBe('admitted');
    expect(status(off.admitUpgrade(upgrade({ origin: 'null' })))).toBe(403);
  });

  it('admits everything without API keys', () => {
    const { a } = setup({});
    expect(a.enabled).toBe(false);
    expect(status(a.admitUpgrade(upgrade({})))).toBe('admitted');
    expect(status(a.admitUpgrade(upgrade({ authorization: 'Bearer whatever' }, 'token=x')))).toBe('admitted');
  });
});

describe('Authenticator.requireApiKey', () => {
  it('lets an API key through, refuses others; a client token is not enough (403)', () => {
    const { a } = setup();
    expect(a.requireApiKey(`Bearer ${KEY}`)).toBeUndefined();
    expect(a.requireApiKey(undefined)?.status).toBe(401);
    expect(a.requireApiKey('Bearer wrong-key-0123456789')?.status).toBe(401);
    const scoped = a.requireApiKey(`Bearer ${a.mint(60).token}`);
    expect(scoped?.status).toBe(403);
    expect(scoped?.headers['www-authenticate']).toMatch(/insufficient_scope/);
    expect(setup({}).a.requireApiKey(undefined)).toBeUndefined();
  });
});

describe('Authenticator.mint', () => {
  it('mints a token expiring ttl seconds from now that the configured secret verifies', () => {
    const { a, nowS } = setup();
    const minted = a.mint(300);
    expect(minted.expires_at).toBe(nowS() + 300);
    expect(new ClientTokenSigner(SECRET).check(minted.token, nowS() + 299)).toBe('valid');
    expect(new ClientTokenSigner(SECRET).check(minted.token, nowS() + 300)).toBe('expired');
  });
});

describe('Authenticator.admit: grants', () => {
  it('grants a client token\'s session claim; API keys and tokens without a claim grant nothing', () => {
    const { a } = setup();
    const capped = a.mint(60, 120);
    expect(capped.max_session_s).toBe(120);
    expect(a.admit(upgrade({}, `token=${encodeURIComponent(capped.token)}`))).toEqual({ ok: true, grant: { maxSessionMs: 120_000 } });
    expect(a.admit(upgrade({ authorization: `Bearer ${capped.token}` }))).toEqual({ ok: true, grant: { maxSessionMs: 120_000 } });
    expect(a.admit(upgrade({ authorization: `Bearer ${a.mint(60).token}` }))).toEqual({ ok: true, grant: {} });
    expect(a.admit(upgrade({ authorization: `Bearer ${KEY}` }))).toEqual({ ok: true, grant: {} });
    // A raised claim breaks the MAC: refused, not granted.
    const forged = capped.token.replace('.s120.', '.s999.');
    const refused = a.admit(upgrade({}, `token=${encodeURIComponent(forged)}`));
    expect(refused.ok).toBe(false);
  });
});

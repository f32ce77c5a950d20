// The `auth` config section: environment mapping, defaults, and refusals whose messages say what is
// wrong and where without repeating the key or secret.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './load.ts';

const KEY = 'cfg-key-0123456789abcdef';
const SECRET = 'cfg-secret-0123456789-0123456789-abc';

/** The ConfigError message loadConfig throws for `env`. */
function refusal(env: Record<string, string>): string {
  try {
    loadConfig({ env });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('auth config', () => {
  it('is off by default: no keys, no secret, 600 s tokens, any origin', () => {
    expect(loadConfig({ env: {} }).auth).toEqual({ apiKeys: [], tokenTtlS: 600, allowedOrigins: [] });
  });

  it('reads VLP_API_KEYS and VLP_ALLOWED_ORIGINS as comma-separated lists, VLP_TOKEN_SECRET and VLP_TOKEN_TTL_S', () => {
    const c = loadConfig({
      env: { VLP_API_KEYS: ` ${KEY}, ${KEY}-2 `, VLP_TOKEN_SECRET: SECRET, VLP_TOKEN_TTL_S: '120', VLP_ALLOWED_ORIGINS: 'https://a.example,http://localhost:5173' },
    });
    expect(c.auth).toEqual({ apiKeys: [KEY, `${KEY}-2`], tokenSecret: SECRET, tokenTtlS: 120, allowedOrigins: ['https://a.example', 'http://localhost:5173'] });
  });

  it('refuses a short API key, naming its position and the rule, not the key', () => {
    const msg = refusal({ VLP_API_KEYS: `${KEY},short-key` });
    expect(msg).toMatch(/auth\.apiKeys\.1: an API key must be at least 16 characters/);
    expect(msg).not.toContain('short-key');
  });

  it('refuses an API key with characters a Bearer header cannot carry', () => {
    const msg = refusal({ VLP_API_KEYS: 'has spaces in this key 0123' });
    expect(msg).toMatch(/auth\.apiKeys\.0: an API key must be printable ASCII without spaces or commas/);
    expect(msg).not.toContain('has spaces');
  });

  it('refuses a short token secret with a clear message, not the secret', () => {
    const msg = refusal({ VLP_API_KEYS: KEY, VLP_TOKEN_SECRET: 'too-short-secret' });
    expect(msg).toMatch(/auth\.tokenSecret: auth\.tokenSecret must be at least 32 characters/);
    expect(msg).not.toContain('too-short-secret');
  });

  it('refuses a token secret without API keys (it would look like authentication while it is off)', () => {
    expect(refusal({ VLP_TOKEN_SECRET: SECRET })).toMatch(/auth\.tokenSecret: .*auth\.apiKeys is empty/);
  });

  it('refuses an empty VLP_API_KEYS rather than running without authentication', () => {
    expect(refusal({ VLP_API_KEYS: ' , ' })).toMatch(/VLP_API_KEYS is set but holds no value/);
    expect(refusal({ VLP_API_KEYS: '' })).toMatch(/VLP_API_KEYS is set but holds no value/);
  });

  it('bounds tokenTtlS to 10..7200', () => {
    expect(refusal({ VLP_API_KEYS: KEY, VLP_TOKEN_TTL_S: '9' })).toMatch(/auth\.tokenTtlS/);
    expect(refusal({ VLP_API_KEYS: KEY, VLP_TOKEN_TTL_S: '7201' })).toMatch(/auth\.tokenTtlS/);
    expect(loadConfig({ env: { VLP_TOKEN_TTL_S: '7200' } }).auth.tokenTtlS).toBe(7200);
  });

  it('refuses an allowed origin with a path or trailing slash', () => {
    expect(refusal({ VLP_ALLOWED_ORIGINS: 'https://a.example/' })).toMatch(/auth\.allowedOrigins\.0: an allowed origin is scheme:\/\/host\[:port\]/);
    expect(refusal({ VLP_ALLOWED_ORIGINS: 'a.example' })).toMatch(/auth\.allowedOrigins\.0/);
  });

  it('has no command-line flag for keys or secret, and lets the CLI\'s VLP_API_KEY through', () => {
    expect(() => loadConfig({ argv: ['--api-keys', KEY] })).toThrow(/bad command line/);
    expect(loadConfig({ env: { VLP_API_KEY: KEY } }).auth.apiKeys).toEqual([]);
  });
});

// The config the gateway keeps has placeholders for the auth secrets, and nothing else changes.
import { describe, expect, it } from 'vitest';
import { ConfigSchema } from '../config/schema.ts';
import { REDACTED, withoutAuthSecrets } from './redact.ts';

describe('withoutAuthSecrets', () => {
  it('replaces every key and the secret, keeping their count and presence', () => {
    const config = ConfigSchema.parse({ auth: { apiKeys: ['redact-key-0123456789', 'redact-key-9876543210'], tokenSecret: 'redact-secret-0123456789-0123456789' } });
    const kept = withoutAuthSecrets(config);
    expect(kept.auth).toEqual({ apiKeys: [REDACTED, REDACTED], tokenSecret: REDACTED, tokenTtlS: 600, allowedOrigins: [] });
    expect(JSON.stringify(kept)).not.toMatch(/redact-key|redact-secret/);
    expect({ ...kept, auth: config.auth }).toEqual(config);
    // The input is left as it was.
    expect(config.auth.apiKeys[0]).toBe('redact-key-0123456789');
  });

  it('returns a config without secrets as it is', () => {
    const config = ConfigSchema.parse({});
    expect(withoutAuthSecrets(config)).toBe(config);
  });
});

// The boot line about client authentication: a warning when off (with a hint when the CLI's
// VLP_API_KEY sits in the gateway's environment), counts and switches when on, never key material.
// Written through the production logger, whose redaction must leave the line whole.
import { describe, expect, it } from 'vitest';
import { AuthSchema } from '../config/schema.ts';
import { createLogger } from '../observability/log.ts';
import { LineSink } from '../observability/log-sink.testkit.ts';
import { logAuthPosture } from './posture.ts';

function captureLog() {
  const sink = new LineSink();
  return { log: createLogger('info', 'test', sink), lines: () => sink.lines(), raw: () => sink.raw() };
}

const KEY = 'posture-key-0123456789';
const SECRET = 'posture-secret-0123456789-0123456789';

describe('logAuthPosture', () => {
  it('warns once that authentication is off', () => {
    const c = captureLog();
    logAuthPosture(c.log, AuthSchema.parse({}), {});
    expect(c.lines()).toHaveLength(1);
    expect(c.lines()[0]).toMatchObject({ level: 40, auth: 'off', msg: expect.stringMatching(/^client authentication is off/) });
    expect(c.lines()[0]).not.toHaveProperty('hint');
  });

  it('hints at VLP_API_KEYS when only the CLI\'s VLP_API_KEY is set, without repeating it', () => {
    const c = captureLog();
    logAuthPosture(c.log, AuthSchema.parse({}), { VLP_API_KEY: KEY });
    expect(c.lines()[0]).toMatchObject({ auth: 'off', hint: expect.stringMatching(/VLP_API_KEYS/) });
    expect(c.raw()).not.toContain(KEY);
  });

  it('says it is on with counts, not keys or secret', () => {
    const c = captureLog();
    logAuthPosture(c.log, AuthSchema.parse({ apiKeys: [KEY, `${KEY}x`], tokenSecret: SECRET, allowedOrigins: ['https://a.example'] }), {});
    expect(c.lines()).toEqual([
      expect.objectContaining({ level: 30, auth: 'on', apiKeyCount: 2, clientTokens: 'on', tokenTtlS: 600, allowedOrigins: ['https://a.example'], msg: 'client authentication is on' }),
    ]);
    expect(c.raw()).not.toContain(KEY);
    expect(c.raw()).not.toContain(SECRET);
    const noSecret = captureLog();
    logAuthPosture(noSecret.log, AuthSchema.parse({ apiKeys: [KEY] }), {});
    expect(noSecret.lines()[0]).toMatchObject({ clientTokens: 'off (no auth.tokenSecret)' });
  });
});

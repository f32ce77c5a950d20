// The gateway's boot log says once whether client authentication is on, never with key material,
// and the configuration it keeps (ctx.config) holds placeholders instead of the keys and secret.
import { afterEach, describe, expect, it } from 'vitest';
import { Gateway } from '../src/gateway.ts';
import { ConfigSchema, type ConfigInput } from '../src/config/schema.ts';
import { captureLog } from '../src/observability/log-capture.testkit.ts';
import { API_KEY, TOKEN_SECRET } from './auth-helpers.ts';

let gw: Gateway | undefined;

afterEach(async () => {
  await gw?.shutdown(0);
  gw = undefined;
});

/** A gateway whose backends are never called (nothing listens on port 1), started with a captured log. */
async function boot(auth: ConfigInput['auth'], env: Record<string, string> = {}) {
  const captured = captureLog('info');
  const config = ConfigSchema.parse({
    host: '127.0.0.1',
    port: 0,
    auth,
    models: [
      { id: 'llama-2-7b-chat', kind: 'llm', backend: 'tgi', urls: ['http://127.0.0.1:1'], template: 'llama2-chat' },
      { id: 'idefics-9b-instruct', kind: 'vlm', backend: 'tgi', urls: ['http://127.0.0.1:1'], template: 'idefics' },
    ],
  });
  gw = new Gateway(config, captured.log, { defaultMetrics: false, env });
  await gw.start();
  return captured;
}

const authLines = (lines: Record<string, unknown>[]) => lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('client authentication'));

describe('boot log on client authentication', () => {
  it('warns once that authentication is off when no API key is configured', async () => {
    const log = await boot({});
    expect(authLines(log.lines())).toEqual([expect.objectContaining({ level: 40, auth: 'off', msg: expect.stringMatching(/^client authentication is off/) })]);
  });

  it('says once that it is on, without keys or secret, and the kept config has placeholders', async () => {
    const log = await boot({ apiKeys: [API_KEY], tokenSecret: TOKEN_SECRET });
    expect(authLines(log.lines())).toEqual([expect.objectContaining({ level: 30, auth: 'on', apiKeyCount: 1, clientTokens: 'on' })]);
    expect(log.raw()).not.toContain(API_KEY);
    expect(log.raw()).not.toContain(TOKEN_SECRET);
    const kept = JSON.stringify([(gw as Gateway).config, (gw as Gateway).ctx.config]);
    expect(kept).not.toContain(API_KEY);
    expect(kept).not.toContain(TOKEN_SECRET);
    expect((gw as Gateway).config.auth.apiKeys).toHaveLength(1);
  });
});

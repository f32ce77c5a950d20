// The config the gateway keeps (ctx.config, read all over the code) without the auth secrets: the
// Authenticator holds key digests and the token secret as a key object; the long-lived config
// keeps only placeholders, so that no later log line or dump of it can carry them.
import type { Config } from '../config/schema.ts';

export const REDACTED = '[redacted]';

export function withoutAuthSecrets(config: Config): Config {
  const { apiKeys, tokenSecret } = config.auth;
  if (apiKeys.length === 0 && tokenSecret === undefined) return config;
  return {
    ...config,
    auth: {
      ...config.auth,
      apiKeys: apiKeys.map(() => REDACTED),
      ...(tokenSecret !== undefined && { tokenSecret: REDACTED }),
    },
  };
}

// The one boot-log line about client authentication: off (a warning, since anyone who reaches the
// gateway can then use the fleet), or on with counts and switches. Never key material.
import type { Logger } from 'pino';
import type { AuthConfig } from '../config/schema.ts';

export function logAuthPosture(log: Logger, cfg: AuthConfig, env: Record<string, string | undefined>): void {
  const allowedOrigins = cfg.allowedOrigins.length > 0 ? cfg.allowedOrigins : 'any';
  if (cfg.apiKeys.length === 0) {
    // VLP_API_KEY (singular) is the CLI's; set in the gateway's environment it is a likely mix-up.
    const hint = env.VLP_API_KEY !== undefined ? { hint: 'VLP_API_KEY is set: that is the CLI\'s key; the gateway reads VLP_API_KEYS' } : {};
    log.warn({ auth: 'off', allowedOrigins, ...hint }, 'client authentication is off: anyone who can reach the gateway can open sessions (set VLP_API_KEYS to require API keys)');
    return;
  }
  log.info(
    {
      auth: 'on',
      apiKeyCount: cfg.apiKeys.length,
      clientTokens: cfg.tokenSecret !== undefined ? 'on' : 'off (no auth.tokenSecret)',
      tokenTtlS: cfg.tokenTtlS,
      allowedOrigins,
    },
    'client authentication is on',
  );
}

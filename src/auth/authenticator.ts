// Client authentication: the WebSocket upgrade gate (Origin allow-list, then an API key or a
// client token), the API-key check of HTTP routes, and minting client tokens. Built once from the
// `auth` config; with no API keys configured, only the Origin check applies.
import type { Counter } from 'prom-client';
import type { Logger } from 'pino';
import type { AuthConfig } from '../config/schema.ts';
import type { HttpResponse, UpgradeRequestInfo, UpgradeVerdict } from '../transport/types.ts';

const ADMITTED: UpgradeVerdict = Object.freeze({ ok: true, grant: Object.freeze({}) });
import { ApiKeySet } from './api-keys.ts';
import { ClientTokenSigner } from './client-token.ts';
import { bearerCredential, presentedCredential, type Presented } from './credentials.ts';
import { OriginPolicy } from './origins.ts';
import { AUTH_REFUSAL_REASONS, CLIENT_TOKEN_NOT_ENOUGH, refusal, type AuthRefusalReason } from './responses.ts';

export interface AuthenticatorDeps {
  /** vlp_upgrades_refused_total{reason}. */
  refused: Counter<'reason'>;
  log: Logger;
  /** Wall clock, ms since the epoch (tests move it). */
  nowMs?: () => number;
}

export interface MintedToken {
  token: string;
  /** Unix seconds; the token is refused from then on. */
  expires_at: number;
  /** The token's session-duration claim, s, when it has one. */
  max_session_s?: number;
}


/** An API key sent in a URL is warned about at most this often. */
const KEY_IN_QUERY_WARN_MS = 60_000;

export class Authenticator {
  /** API keys are configured: upgrades and API-key routes need credentials. */
  readonly enabled: boolean;
  /** Longest (and default) client token lifetime, s. */
  readonly tokenTtlS: number;
  private readonly keys: ApiKeySet;
  private readonly signer: ClientTokenSigner | undefined;
  private readonly origins: OriginPolicy;
  private readonly nowMs: () => number;
  private lastKeyInQueryWarn = Number.NEGATIVE_INFINITY;

  constructor(
    cfg: AuthConfig,
    private readonly deps: AuthenticatorDeps,
  ) {
    this.keys = new ApiKeySet(cfg.apiKeys);
    this.enabled = this.keys.size > 0;
    this.signer = this.enabled && cfg.tokenSecret !== undefined ? new ClientTokenSigner(cfg.tokenSecret) : undefined;
    this.origins = new OriginPolicy(cfg.allowedOrigins);
    this.tokenTtlS = cfg.tokenTtlS;
    this.nowMs = deps.nowMs ?? Date.now;
    // Every reason is exported from the start (0), so rate() sees the first refusal.
    for (const reason of AUTH_REFUSAL_REASONS) deps.refused.inc({ reason }, 0);
  }

  /** Client tokens can be minted (and are accepted): an auth.tokenSecret is configured. */
  get minting(): boolean {
    return this.signer !== undefined;
  }

  /** The upgrade gate (TransportOptions.admit): the refusal, or what the credential grants the
   *  connection (a client token's claims), from one parse and one MAC check. */
  admit(req: UpgradeRequestInfo): UpgradeVerdict {
    if (!this.origins.allows(req.header('origin'))) return { ok: false, response: this.refuse('origin_not_allowed') };
    if (!this.enabled) return ADMITTED;
    const cred = presentedCredential(req.header('authorization'), req.query);
    const verdict = this.judge(cred);
    if (verdict === 'api_key') return ADMITTED;
    if (verdict !== 'token') return { ok: false, response: this.refuse(verdict) };
    // A valid client token (judge checked its MAC and expiry): its claims.
    const s = cred.kind === 'header' || cred.kind === 'query' ? this.signer?.claims(cred.value).maxSessionS : undefined;
    return s === undefined ? ADMITTED : { ok: true, grant: { maxSessionMs: s * 1000 } };
  }

  /** admit() as a plain refusal: undefined = let the upgrade proceed. */
  admitUpgrade(req: UpgradeRequestInfo): HttpResponse | undefined {
    const v = this.admit(req);
    return v.ok ? undefined : v.response;
  }

  /** For routes that take an API key in `Authorization: Bearer` only (minting, /metrics):
   *  undefined = let the request through (a valid key, or authentication off). */
  requireApiKey(authorization: string | undefined): HttpResponse | undefined {
    if (!this.enabled) return undefined;
    const cred = bearerCredential(authorization);
    switch (cred.kind) {
      case 'none':
        return refusal('missing_credentials');
      case 'header':
        if (this.keys.indexOf(cred.value) >= 0) return undefined;
        return this.checkToken(cred.value) === 'ok' ? CLIENT_TOKEN_NOT_ENOUGH : refusal('invalid_credentials');
      case 'malformed':
      case 'query':
        return refusal('invalid_credentials');
      default: {
        const never: never = cred;
        throw new Error(`unknown credential ${String(never)}`);
      }
    }
  }

  /** A client token valid for `ttlS` seconds from now (the caller bounds ttlS by tokenTtlS),
   *  whose sessions live at most `maxSessionS` when given. */
  mint(ttlS: number, maxSessionS?: number): MintedToken {
    if (this.signer === undefined) throw new Error('client tokens are disabled (no auth.tokenSecret)');
    const expiresAt = Math.floor(this.nowMs() / 1000) + ttlS;
    if (maxSessionS === undefined) return { token: this.signer.mint(expiresAt), expires_at: expiresAt };
    return { token: this.signer.mint(expiresAt, undefined, { maxSessionS }), expires_at: expiresAt, max_session_s: maxSessionS };
  }


  /** 'api_key' / 'token': admitted by that kind of credential. */
  private judge(cred: Presented): 'api_key' | 'token' | AuthRefusalReason {
    switch (cred.kind) {
      case 'none':
        return 'missing_credentials';
      case 'malformed':
        return 'invalid_credentials';
      case 'header':
        return this.keys.indexOf(cred.value) >= 0 ? 'api_key' : this.tokenVerdict(cred.value);
      case 'query': {
        // Long-lived keys stay out of URLs (proxy and access logs, browser history).
        const key = this.keys.indexOf(cred.value);
        if (key < 0) return this.tokenVerdict(cred.value);
        this.warnKeyInQuery(key);
        return 'api_key_in_query';
      }
      default: {
        const never: never = cred;
        throw new Error(`unknown credential ${String(never)}`);
      }
    }
  }

  private tokenVerdict(value: string): 'token' | 'expired_token' | 'invalid_credentials' {
    const v = this.checkToken(value);
    return v === 'ok' ? 'token' : v;
  }

  private checkToken(value: string): 'ok' | 'expired_token' | 'invalid_credentials' {
    if (this.signer === undefined) return 'invalid_credentials';
    const check = this.signer.check(value, Math.floor(this.nowMs() / 1000));
    switch (check) {
      case 'valid':
        return 'ok';
      case 'expired':
        return 'expired_token';
      case 'invalid':
        return 'invalid_credentials';
      default: {
        const never: never = check;
        throw new Error(`unknown token check ${String(never)}`);
      }
    }
  }

  private refuse(reason: AuthRefusalReason): HttpResponse {
    this.deps.refused.inc({ reason });
    this.deps.log.debug({ reason }, 'WebSocket upgrade refused');
    return refusal(reason);
  }

  private warnKeyInQuery(keyIndex: number): void {
    const now = this.nowMs();
    if (now - this.lastKeyInQueryWarn < KEY_IN_QUERY_WARN_MS) return;
    this.lastKeyInQueryWarn = now;
    // The key's position in auth.apiKeys, never the key: enough to know which one to rotate.
    this.deps.log.warn({ keyIndex }, 'an API key was sent in a WebSocket URL (refused): it may now sit in proxy and access logs, rotate it');
  }
}

// Ephemeral client tokens, self-contained and verified without state:
//   vlp1.<expires_at unix seconds>[.s<max session seconds>].<nonce: 16 random bytes, base64url>.<base64url HMAC-SHA256(secret, everything before it)>
// The optional `s` part is a claim: sessions the token opens live at most that long.
// Clients treat them as opaque strings. Every gateway holding the same secret accepts them.
import { createHmac, createSecretKey, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';

export const CLIENT_TOKEN_VERSION = 'vlp1';
const NONCE_BYTES = 16;
/** The whole token: version, expiry, the optional session-duration claim, 22-char nonce, 43-char
 *  MAC (32 bytes, base64url unpadded). */
const TOKEN_RE = /^vlp1\.(\d{1,12})(?:\.s(\d{1,8}))?\.[A-Za-z0-9_-]{22}\.([A-Za-z0-9_-]{43})$/;

/** What a token says about the sessions it may open. */
export interface TokenClaims {
  /** Longest session, s (limits.maxSessionMs still applies when shorter). */
  maxSessionS?: number;
}

/** 'expired' is said only of a token whose MAC is right: a forged one is 'invalid'. */
export type TokenCheck = 'valid' | 'expired' | 'invalid';

export class ClientTokenSigner {
  /** The secret as an OpenSSL key object, not a JS string kept around. */
  private readonly key: KeyObject;

  constructor(secret: string) {
    this.key = createSecretKey(Buffer.from(secret, 'utf8'));
  }

  /** A token valid while the clock is before `expiresAtS` (unix seconds). */
  mint(expiresAtS: number, nonce: Buffer = randomBytes(NONCE_BYTES), claims: TokenClaims = {}): string {
    if (!Number.isSafeInteger(expiresAtS) || expiresAtS < 0) throw new RangeError('expiresAtS must be a non-negative integer');
    if (nonce.length !== NONCE_BYTES) throw new RangeError(`the nonce must be ${NONCE_BYTES} bytes`);
    const s = claims.maxSessionS;
    if (s !== undefined && (!Number.isSafeInteger(s) || s < 1 || s > 99_999_999)) throw new RangeError('maxSessionS must be an integer from 1 to 99999999');
    const body = `${CLIENT_TOKEN_VERSION}.${expiresAtS}${s === undefined ? '' : `.s${s}`}.${nonce.toString('base64url')}`;
    return `${body}.${this.mac(body)}`;
  }

  /** The claims of a token that check() found valid (call it only then). */
  claims(token: string): TokenClaims {
    const s = TOKEN_RE.exec(token)?.[2];
    return s === undefined ? {} : { maxSessionS: Number(s) };
  }

  check(token: string, nowS: number): TokenCheck {
    const m = TOKEN_RE.exec(token);
    if (m === null) return 'invalid';
    const [, expiry, , mac] = m as unknown as [string, string, string | undefined, string];
    // The MAC's text is compared, not its decoded bytes: base64url's last character carries spare
    // bits, and a token differing only in them must not pass.
    const expected = Buffer.from(this.mac(token.slice(0, token.length - mac.length - 1)), 'ascii');
    if (!timingSafeEqual(Buffer.from(mac, 'ascii'), expected)) return 'invalid';
    return Number(expiry) > nowS ? 'valid' : 'expired';
  }

  private mac(body: string): string {
    return createHmac('sha256', this.key).update(body, 'utf8').digest('base64url');
  }
}

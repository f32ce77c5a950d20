// Client tokens: format, expiry boundary, and every way a token can be wrong (tampered parts, the
// wrong secret, spare bits of the MAC's last base64url character, malformed shapes).
import { describe, expect, it } from 'vitest';
import { ClientTokenSigner } from './client-token.ts';

const SECRET = 'a-test-secret-of-at-least-32-characters!';
const signer = new ClientTokenSigner(SECRET);
const NONCE = Buffer.alloc(16, 7);

/** Replace the i-th dot-separated part of a token. */
function withPart(token: string, i: number, value: string): string {
  const parts = token.split('.');
  parts[i] = value;
  return parts.join('.');
}

describe('ClientTokenSigner', () => {
  it('mints vlp1.<expiry>.<nonce>.<mac> with a 22-char nonce and a 43-char base64url MAC', () => {
    const token = signer.mint(2_000_000_000, NONCE);
    expect(token).toMatch(/^vlp1\.2000000000\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
    expect(token.split('.')[2]).toBe(NONCE.toString('base64url'));
    // Deterministic for a given secret, expiry and nonce; random nonces by default.
    expect(signer.mint(2_000_000_000, NONCE)).toBe(token);
    expect(signer.mint(2_000_000_000)).not.toBe(signer.mint(2_000_000_000));
  });

  it('is valid strictly before its expiry and expired from it on', () => {
    const token = signer.mint(1_000, NONCE);
    expect(signer.check(token, 0)).toBe('valid');
    expect(signer.check(token, 999)).toBe('valid');
    expect(signer.check(token, 1_000)).toBe('expired');
    expect(signer.check(token, 5_000)).toBe('expired');
  });

  it('refuses a token signed with another secret, and calls it invalid rather than expired', () => {
    const other = new ClientTokenSigner('another-secret-of-at-least-32-characters');
    expect(other.check(signer.mint(1_000, NONCE), 0)).toBe('invalid');
    expect(other.check(signer.mint(1_000, NONCE), 2_000)).toBe('invalid');
  });

  it('refuses tampering with the expiry, the nonce or the MAC', () => {
    const token = signer.mint(1_000, NONCE);
    expect(signer.check(withPart(token, 1, '999999999'), 0)).toBe('invalid');
    expect(signer.check(withPart(token, 1, '01000'), 0)).toBe('invalid');
    expect(signer.check(withPart(token, 2, Buffer.alloc(16, 8).toString('base64url')), 0)).toBe('invalid');
    const mac = token.split('.')[3] as string;
    const flipped = (mac[0] === 'A' ? 'B' : 'A') + mac.slice(1);
    expect(signer.check(withPart(token, 3, flipped), 0)).toBe('invalid');
  });

  it('refuses a MAC that differs only in the spare bits of its last character (same bytes decoded)', () => {
    const token = signer.mint(1_000, NONCE);
    const mac = token.split('.')[3] as string;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(mac[42] as string);
    // The 43rd character carries 4 bits of the MAC and 2 spare bits.
    const twin = mac.slice(0, 42) + alphabet[last ^ 1];
    expect(Buffer.from(twin, 'base64url').equals(Buffer.from(mac, 'base64url'))).toBe(true);
    expect(signer.check(withPart(token, 3, twin), 0)).toBe('invalid');
  });

  it.each([
    ['empty', ''],
    ['another version', 'vlp2.1000.AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['a negative expiry', 'vlp1.-1000.AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['a short MAC', 'vlp1.1000.AAAAAAAAAAAAAAAAAAAAAA.AAAA'],
    ['padding', 'vlp1.1000.AAAAAAAAAAAAAAAAAAAAAA==.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['an API key', 'sk-live-0123456789abcdef'],
  ])('refuses %s', (_what, token) => {
    expect(signer.check(token, 0)).toBe('invalid');
  });

  it('a trailing or leading addition breaks it', () => {
    const token = signer.mint(1_000, NONCE);
    expect(signer.check(`${token}.x`, 0)).toBe('invalid');
    expect(signer.check(`${token}A`, 0)).toBe('invalid');
    expect(signer.check(` ${token}`, 0)).toBe('invalid');
  });

  it('carries a session-duration claim under the MAC: vlp1.<expiry>.s<seconds>.<nonce>.<mac>', () => {
    const token = signer.mint(2_000_000_000, NONCE, { maxSessionS: 300 });
    expect(token).toMatch(/^vlp1\.2000000000\.s300\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
    expect(signer.check(token, 0)).toBe('valid');
    expect(signer.claims(token)).toEqual({ maxSessionS: 300 });
    expect(signer.claims(signer.mint(2_000_000_000, NONCE))).toEqual({});
    // The claim cannot be raised, or removed, without the secret.
    expect(signer.check(withPart(token, 2, 's3000'), 0)).toBe('invalid');
    const parts = token.split('.');
    expect(signer.check([parts[0], parts[1], parts[3], parts[4]].join('.'), 0)).toBe('invalid');
    expect(() => signer.mint(2_000_000_000, NONCE, { maxSessionS: 0 })).toThrow(RangeError);
  });
});

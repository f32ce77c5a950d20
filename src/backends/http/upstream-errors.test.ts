// The helpers every HTTP upstream adapter shares, and the adapters' use of them: upstream text cut
// without splitting a surrogate pair, and the same "never reached" codes (TLS failures included)
// for every adapter on undici.
import { describe, expect, it } from 'vitest';
import { cutText, errorCodeOf, UNREACHABLE_CODES } from './upstream-errors.ts';
import { gsamHttpError, gsamLineError, gsamTransportError } from '../grounded-sam/errors.ts';
import { tgiTransportError } from '../tgi/errors.ts';

/** Valid UTF-16: no lone surrogate (it could not be encoded as UTF-8 on the wire). */
const wellFormed = (s: string): boolean => !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);

describe('upstream error helpers', () => {
  it('cutText keeps short text, cuts long text with "…", never between the halves of a pair', () => {
    expect(cutText('short')).toBe('short');
    expect(cutText('x'.repeat(200))).toBe('x'.repeat(200));
    expect(cutText('x'.repeat(201))).toBe(`${'x'.repeat(200)}…`);
    // An emoji (two UTF-16 units) straddling the limit is dropped whole.
    const straddling = `${'x'.repeat(199)}😀tail`;
    expect(cutText(straddling)).toBe(`${'x'.repeat(199)}…`);
    expect(wellFormed(cutText(straddling))).toBe(true);
    expect(cutText('abcdef', 3)).toBe('abc…');
  });

  it('Grounded-SAM messages cut upstream text safely (they used to split pairs)', () => {
    const text = `${'y'.repeat(199)}🐶 and more`;
    const line = gsamLineError(text, 'segmentation');
    expect(wellFormed(line.message)).toBe(true);
    expect(line.message).toContain(`${'y'.repeat(199)}…`);
    const http = gsamHttpError(500, undefined, JSON.stringify({ error: text }));
    expect(http.message).toContain('y'.repeat(199));
    expect(wellFormed(http.message)).toBe(true);
  });

  it('a TLS certificate failure before the response is "unreachable" for Grounded-SAM as for TGI', () => {
    const tls = Object.assign(new Error('certificate has expired'), { code: 'CERT_HAS_EXPIRED' });
    expect(UNREACHABLE_CODES.has('CERT_HAS_EXPIRED')).toBe(true);
    expect(gsamTransportError(tls, 'request').code).toBe('UPSTREAM_UNAVAILABLE');
    expect(tgiTransportError(tls, 'request').code).toBe('UPSTREAM_UNAVAILABLE');
    // Mid-stream the same failure is a reset.
    expect(gsamTransportError(tls, 'stream').code).toBe('UPSTREAM_RESET');
    expect(errorCodeOf(new Error('x', { cause: tls }))).toBe('CERT_HAS_EXPIRED');
  });
});

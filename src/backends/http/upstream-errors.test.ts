// The helpers every HTTP upstream adapter shares, and the adapters' use of them: upstream text cut
// without splitting a surrogate pair, and the same "never reached" codes (TLS failures included)
// for every adapter on undici.
import { describe, expect, it } from 'vitest';
import type { VlpError } from '../../../protocol/errors.ts';
import { cappedRetryAfter, cappedWaitS, cutText, errorCodeOf, MAX_RETRY_AFTER_S, UNREACHABLE_CODES } from './upstream-errors.ts';
import { whisperAsrHttpError, whisperLiveUpgradeError, whisperLiveWaitError } from '../asr/errors.ts';
import { gsamHttpError, gsamLineError, gsamTransportError } from '../grounded-sam/errors.ts';
import { hfHttpError } from '../hf-inference/errors.ts';
import { openAiHttpError } from '../openai/errors.ts';
import { tgiHttpError, tgiTransportError } from '../tgi/errors.ts';

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

describe('waits named by an upstream (Retry-After, WAIT, a loading estimate)', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');

  it('cappedRetryAfter reads seconds or an HTTP date (the first of repeated headers), at most 300 s', () => {
    expect(MAX_RETRY_AFTER_S).toBe(300);
    expect(cappedRetryAfter('12', now)).toBe(12);
    expect(cappedRetryAfter(' 12 ', now)).toBe(12);
    expect(cappedRetryAfter(['3', '9'], now)).toBe(3);
    expect(cappedRetryAfter('Wed, 01 Jan 2025 00:00:30 GMT', now)).toBe(30);
    expect(cappedRetryAfter('Tue, 31 Dec 2024 00:00:00 GMT', now)).toBe(0);
    expect(cappedRetryAfter('300', now)).toBe(300);
    expect(cappedRetryAfter('301', now)).toBe(300);
    expect(cappedRetryAfter('86400', now)).toBe(300);
    expect(cappedRetryAfter('9'.repeat(400), now)).toBe(300); // Number() of it is Infinity
    expect(cappedRetryAfter('Thu, 02 Jan 2025 00:00:00 GMT', now)).toBe(300);
    expect(cappedRetryAfter('soon', now)).toBeUndefined();
    // Not delta-seconds and not an HTTP-date: unparseable (Date.parse reads "-5" as 2001, i.e. "now").
    for (const bad of ['-5', '1.5', '2025-01-01', '+3', '0x10']) expect([bad, cappedRetryAfter(bad, now)]).toEqual([bad, undefined]);
    expect(cappedRetryAfter('Sunday, 01-Jan-25 00:00:10 GMT', Date.parse('2025-01-01T00:00:00Z'))).toBe(10); // RFC 850
    expect(cappedRetryAfter(undefined, now)).toBeUndefined();
  });

  it('cappedWaitS rounds up and caps any other wait, refusing NaN and negatives', () => {
    expect(cappedWaitS(0)).toBe(0);
    expect(cappedWaitS(1.2)).toBe(2);
    expect(cappedWaitS(299.5)).toBe(300);
    expect(cappedWaitS(1e9)).toBe(300);
    expect(cappedWaitS(Infinity)).toBe(300);
    expect(cappedWaitS(NaN)).toBeUndefined();
    expect(cappedWaitS(-1)).toBeUndefined();
  });

  it('every adapter caps a day-long Retry-After of an overloaded answer at 300 s', () => {
    const day = '86400';
    const mapped: [string, VlpError][] = [
      ['TGI', tgiHttpError(503, day, '')],
      ['Messages API', openAiHttpError(503, day, '')],
      ['Grounded-SAM', gsamHttpError(503, day, '')],
      ['whisper-asr-webservice', whisperAsrHttpError(503, day, '')],
      ['WhisperLive upgrade', whisperLiveUpgradeError(503, day)],
      ['HF inference', hfHttpError(503, day, '')],
      ['HF inference estimate', hfHttpError(503, undefined, JSON.stringify({ error: 'loading', estimated_time: 1e6 }))],
      ['WhisperLive WAIT', whisperLiveWaitError(1440)],
    ];
    for (const [who, e] of mapped) expect([who, e.code, e.retryAfterS]).toEqual([who, 'UPSTREAM_OVERLOADED', 300]);
    // A message that quotes a wait quotes the capped one.
    expect(hfHttpError(503, undefined, JSON.stringify({ error: 'loading', estimated_time: 1e6 })).message).toBe('HF inference answered HTTP 503 (model loading, estimated 300 s)');
    expect(hfHttpError(503, undefined, JSON.stringify({ error: 'loading', estimated_time: 19.2 })).message).toBe('HF inference answered HTTP 503 (model loading, estimated 20 s)');
  });
});

// Unit checks of the TGI error mapping helpers that the stream tests reach only indirectly.
import { describe, expect, it } from 'vitest';
import { errorCodeOf, tgiEventError, tgiHttpError, tgiTransportError } from './errors.ts';

describe('TGI error mapping', () => {
  it('takes an overloaded answer\'s Retry-After as retryAfterS, at most 300 s, and ignores it otherwise', () => {
    expect(tgiHttpError(503, '12', '').retryAfterS).toBe(12);
    expect(tgiHttpError(429, '86400', '').retryAfterS).toBe(300);
    expect(tgiHttpError(503, 'soon', '').retryAfterS).toBeUndefined();
    expect(tgiHttpError(500, '12', '').retryAfterS).toBeUndefined();
  });

  it('finds error codes inside AggregateError and causes', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    expect(errorCodeOf(new AggregateError([refused]))).toBe('ECONNREFUSED');
    expect(errorCodeOf(new Error('x', { cause: refused }))).toBe('ECONNREFUSED');
    expect(errorCodeOf('nope')).toBeUndefined();
  });

  it('maps transport errors by phase', () => {
    const err = (code: string): Error => Object.assign(new Error(code), { code });
    expect(tgiTransportError(err('ENOTFOUND'), 'request').code).toBe('UPSTREAM_UNAVAILABLE');
    expect(tgiTransportError(err('UND_ERR_CONNECT_TIMEOUT'), 'request').code).toBe('UPSTREAM_UNAVAILABLE');
    expect(tgiTransportError(err('UND_ERR_SOCKET'), 'request').code).toBe('UPSTREAM_RESET');
    expect(tgiTransportError(err('ECONNRESET'), 'stream').code).toBe('UPSTREAM_RESET');
    expect(tgiTransportError(err('UND_ERR_BODY_TIMEOUT'), 'stream').code).toBe('UPSTREAM_TIMEOUT');
  });

  it('cuts long upstream messages and tolerates odd shapes', () => {
    const e = tgiEventError('é'.repeat(500), 'generation');
    expect(e.code).toBe('UPSTREAM_GENERATION_FAILED');
    expect(e.message).toBe(`TGI generation error: ${'é'.repeat(200)}…`);
    expect(tgiEventError({ nested: true }, undefined).message).toBe('TGI unknown error');
  });
});

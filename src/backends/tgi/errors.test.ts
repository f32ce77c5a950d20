// Unit checks of the TGI error mapping helpers that the stream tests reach only indirectly.
import { describe, expect, it } from 'vitest';
import { errorCodeOf, parseRetryAfter, tgiEventError, tgiTransportError } from './errors.ts';

describe('TGI error mapping', () => {
  it('parses Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter('12', now)).toBe(12);
    expect(parseRetryAfter(['3', '9'], now)).toBe(3);
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:30 GMT', now)).toBe(30);
    expect(parseRetryAfter('Tue, 31 Dec 2024 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
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

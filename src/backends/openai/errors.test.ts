// Unit checks of the error mapping helpers that the stream tests reach only indirectly.
import { describe, expect, it } from 'vitest';
import { errorCodeOf, openAiEventError, openAiHttpError, openAiTransportError, readUpstreamError } from './errors.ts';

describe('OpenAI error mapping', () => {
  it('reads each server family’s error shape', () => {
    expect(readUpstreamError({ error: 'Model is overloaded', error_type: 'overloaded' })).toEqual({ message: 'Model is overloaded', status: undefined, type: 'overloaded' });
    expect(readUpstreamError({ error: { message: 'm', http_status_code: 422 } })).toEqual({ message: 'm', status: 422, type: undefined });
    expect(readUpstreamError({ error: { message: 'm', type: 't', code: 'rate_limit_exceeded' } })).toEqual({ message: 'm', status: undefined, type: 't' });
    expect(readUpstreamError({ error: { message: 'm', code: 400 } })).toEqual({ message: 'm', status: 400, type: undefined });
    expect(readUpstreamError({ object: 'error', message: 'm', type: 't', code: 400 })).toEqual({ message: 'm', status: 400, type: 't' });
    expect(readUpstreamError({ detail: 'Not Found' })).toEqual({ message: 'Not Found', status: undefined, type: undefined });
    expect(readUpstreamError({ choices: [] })).toBeUndefined();
    expect(readUpstreamError('nope')).toBeUndefined();
  });

  it('classifies error events by status, message and position', () => {
    const ev = (message: string, status?: number) => ({ message, status, type: undefined });
    expect(openAiEventError(ev('Input validation error: x', 422), false).code).toBe('UPSTREAM_REJECTED');
    expect(openAiEventError(ev('Input validation error: x', 422), true).code).toBe('UPSTREAM_GENERATION_FAILED');
    expect(openAiEventError(ev('Model is overloaded', 422), true).code).toBe('UPSTREAM_OVERLOADED');
    expect(openAiEventError(ev('busy', 503), false).code).toBe('UPSTREAM_OVERLOADED');
    expect(openAiEventError(ev('Incomplete generation stream', 422), false).code).toBe('UPSTREAM_GENERATION_FAILED');
    expect(openAiEventError(ev('x', 500), false).code).toBe('UPSTREAM_GENERATION_FAILED');
    expect(openAiEventError(ev('x'), false).code).toBe('UPSTREAM_REJECTED');
    expect(openAiEventError({ message: undefined, status: undefined, type: undefined }, false).message).toBe('OpenAI-compatible server error event');
  });

  it('cuts long upstream messages without splitting a surrogate pair', () => {
    const e = openAiEventError({ message: `${'a'.repeat(199)}😀tail`, status: 500, type: undefined }, false);
    expect(e.message).toBe(`OpenAI-compatible server error event: ${'a'.repeat(199)}…`);
  });

  it('takes an overloaded answer\'s Retry-After as retryAfterS, at most 300 s, and ignores it otherwise', () => {
    expect(openAiHttpError(429, '12', '').retryAfterS).toBe(12);
    expect(openAiHttpError(503, '86400', '').retryAfterS).toBe(300);
    expect(openAiHttpError(503, undefined, '').retryAfterS).toBeUndefined();
    expect(openAiHttpError(400, '12', '').retryAfterS).toBeUndefined();
  });

  it('maps transport errors by phase, looking into AggregateError and causes', () => {
    const err = (code: string): Error => Object.assign(new Error(code), { code });
    expect(errorCodeOf(new AggregateError([err('ECONNREFUSED')]))).toBe('ECONNREFUSED');
    expect(errorCodeOf(new Error('x', { cause: err('ENOTFOUND') }))).toBe('ENOTFOUND');
    expect(openAiTransportError(err('ENOTFOUND'), 'request').code).toBe('UPSTREAM_UNAVAILABLE');
    expect(openAiTransportError(err('UND_ERR_CONNECT_TIMEOUT'), 'request').code).toBe('UPSTREAM_UNAVAILABLE');
    expect(openAiTransportError(err('UND_ERR_SOCKET'), 'request').code).toBe('UPSTREAM_RESET');
    expect(openAiTransportError(err('ECONNRESET'), 'stream').code).toBe('UPSTREAM_RESET');
    expect(openAiTransportError(err('UND_ERR_BODY_TIMEOUT'), 'stream').code).toBe('UPSTREAM_TIMEOUT');
  });
});

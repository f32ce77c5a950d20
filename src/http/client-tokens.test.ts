// The client-token route's body: empty, or {"ttl_s": N, "max_session_s": M} within their bounds,
// nothing else.
import { describe, expect, it } from 'vitest';
import { requestedToken } from './client-tokens.ts';

const body = (text: string): Uint8Array => Buffer.from(text, 'utf8');

describe('requestedToken', () => {
  it('defaults to the longest lifetime and no session claim for an empty body, an empty object or whitespace', () => {
    expect(requestedToken(new Uint8Array(0), 600)).toEqual({ ttlS: 600 });
    expect(requestedToken(body(' \n'), 600)).toEqual({ ttlS: 600 });
    expect(requestedToken(body('{}'), 600)).toEqual({ ttlS: 600 });
  });

  it('takes ttl_s within 10..max and max_session_s within 1 s..30 days', () => {
    expect(requestedToken(body('{"ttl_s": 10}'), 600)).toEqual({ ttlS: 10 });
    expect(requestedToken(body('{"ttl_s": 600}'), 600)).toEqual({ ttlS: 600 });
    expect(requestedToken(body('{"max_session_s": 300}'), 600)).toEqual({ ttlS: 600, maxSessionS: 300 });
    expect(requestedToken(body('{"ttl_s": 60, "max_session_s": 2592000}'), 600)).toEqual({ ttlS: 60, maxSessionS: 2_592_000 });
  });

  it.each(['{"ttl_s": 9}', '{"ttl_s": 601}', '{"ttl_s": 60.5}', '{"ttl_s": "60"}', '{"ttl_s": null}'])('refuses %s', (text) => {
    expect(requestedToken(body(text), 600)).toBe('ttl_s must be an integer from 10 to 600');
  });

  it.each(['{"max_session_s": 0}', '{"max_session_s": 2592001}', '{"max_session_s": 1.5}', '{"max_session_s": "60"}'])('refuses %s', (text) => {
    expect(requestedToken(body(text), 600)).toBe('max_session_s must be an integer from 1 to 2592000');
  });

  it('refuses other shapes without echoing them', () => {
    expect(requestedToken(body('[60]'), 600)).toBe('the body must be a JSON object');
    expect(requestedToken(body('ttl=60'), 600)).toBe('the body must be a JSON object');
    expect(requestedToken(body('{"ttl_s": 60, "scope": "admin"}'), 600)).toBe('the body takes only the fields ttl_s and max_session_s');
    expect(requestedToken(new Uint8Array([0xff, 0xfe]), 600)).toBe('the body must be UTF-8 JSON');
  });
});

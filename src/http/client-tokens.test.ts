// The client-token route's body: empty or {"ttl_s": N} within 10..tokenTtlS, nothing else.
import { describe, expect, it } from 'vitest';
import { requestedTtl } from './client-tokens.ts';

const body = (text: string): Uint8Array => Buffer.from(text, 'utf8');

describe('requestedTtl', () => {
  it('defaults to the longest lifetime for an empty body, an empty object or whitespace', () => {
    expect(requestedTtl(new Uint8Array(0), 600)).toBe(600);
    expect(requestedTtl(body(' \n'), 600)).toBe(600);
    expect(requestedTtl(body('{}'), 600)).toBe(600);
  });

  it('takes ttl_s within 10..max', () => {
    expect(requestedTtl(body('{"ttl_s": 10}'), 600)).toBe(10);
    expect(requestedTtl(body('{"ttl_s": 600}'), 600)).toBe(600);
  });

  it.each(['{"ttl_s": 9}', '{"ttl_s": 601}', '{"ttl_s": 60.5}', '{"ttl_s": "60"}', '{"ttl_s": null}'])('refuses %s', (text) => {
    expect(requestedTtl(body(text), 600)).toBe('ttl_s must be an integer from 10 to 600');
  });

  it('refuses other shapes without echoing them', () => {
    expect(requestedTtl(body('[60]'), 600)).toBe('the body must be a JSON object');
    expect(requestedTtl(body('ttl=60'), 600)).toBe('the body must be a JSON object');
    expect(requestedTtl(body('{"ttl_s": 60, "scope": "admin"}'), 600)).toBe('the body takes only the field ttl_s');
    expect(requestedTtl(new Uint8Array([0xff, 0xfe]), 600)).toBe('the body must be UTF-8 JSON');
  });
});

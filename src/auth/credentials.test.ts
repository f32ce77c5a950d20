// Where an upgrade's credential is read from: the Bearer header, else one `token` query parameter.
import { describe, expect, it } from 'vitest';
import { bearerCredential, presentedCredential } from './credentials.ts';

describe('bearerCredential', () => {
  it('reads the credential of a Bearer header, scheme in any case', () => {
    expect(bearerCredential('Bearer abc.DEF-123_~+/=')).toEqual({ kind: 'header', value: 'abc.DEF-123_~+/=' });
    expect(bearerCredential('bearer  k!$%#\t')).toEqual({ kind: 'header', value: 'k!$%#' });
  });

  it('treats an absent or empty header as none, and anything else as malformed', () => {
    expect(bearerCredential(undefined)).toEqual({ kind: 'none' });
    expect(bearerCredential('  ')).toEqual({ kind: 'none' });
    expect(bearerCredential('Basic dXNlcjpwYXNz')).toEqual({ kind: 'malformed' });
    expect(bearerCredential('Bearer')).toEqual({ kind: 'malformed' });
    expect(bearerCredential('Bearer two words')).toEqual({ kind: 'malformed' });
    expect(bearerCredential('Bearer é')).toEqual({ kind: 'malformed' });
  });
});

describe('presentedCredential', () => {
  it('uses the header when there is one, the query otherwise', () => {
    expect(presentedCredential('Bearer from-header', 'token=from-query')).toEqual({ kind: 'header', value: 'from-header' });
    expect(presentedCredential(undefined, 'a=1&token=vlp1.x%2Ey')).toEqual({ kind: 'query', value: 'vlp1.x.y' });
    expect(presentedCredential('Basic x', 'token=from-query')).toEqual({ kind: 'malformed' });
  });

  it('refuses two token parameters or an empty one', () => {
    expect(presentedCredential(undefined, 'token=a&token=b')).toEqual({ kind: 'malformed' });
    expect(presentedCredential(undefined, 'token=')).toEqual({ kind: 'malformed' });
  });

  it('finds none without header or token parameter', () => {
    expect(presentedCredential(undefined, '')).toEqual({ kind: 'none' });
    expect(presentedCredential(undefined, 'session=abc&tokens=x')).toEqual({ kind: 'none' });
  });
});

// The URL half of the fetch policy: allowlist matching (exact, wildcard, empty) and URL checks
// (schemes, credentials, redirects resolved against their base, no echo).
import { describe, expect, it } from 'vitest';
import { VlpError } from '../../protocol/errors.ts';
import { checkImageUrl, hostAllowed } from './hosts.ts';

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof VlpError) return err.code;
    throw err;
  }
  return 'allowed';
}

describe('hostAllowed', () => {
  it('matches exact entries, case- and trailing-dot-insensitively', () => {
    expect(hostAllowed('images.example.com', ['images.example.com'])).toBe(true);
    expect(hostAllowed('IMAGES.example.com.', ['images.Example.com'])).toBe(true);
    expect(hostAllowed('other.example.com', ['images.example.com'])).toBe(false);
  });

  it('matches a wildcard against subdomains only', () => {
    const list = ['*.cdn.example'];
    expect(hostAllowed('a.cdn.example', list)).toBe(true);
    expect(hostAllowed('a.b.cdn.example', list)).toBe(true);
    expect(hostAllowed('cdn.example', list)).toBe(false);
    expect(hostAllowed('evilcdn.example', list)).toBe(false);
    expect(hostAllowed('cdn.example.evil.com', list)).toBe(false);
  });

  it('denies everything with an empty list', () => {
    expect(hostAllowed('example.com', [])).toBe(false);
  });

  it('matches IPv6 literals with or without brackets', () => {
    expect(hostAllowed('[::1]', ['::1'])).toBe(true);
    expect(hostAllowed('::1', ['[::1]'])).toBe(true);
  });
});

describe('checkImageUrl', () => {
  const list = ['example.com'];
  it('allows http and https on an allowed host', () => {
    expect(checkImageUrl('https://example.com/a.jpg?x=1', list).hostname).toBe('example.com');
    expect(checkImageUrl('http://example.com:8080/a.jpg', list).port).toBe('8080');
  });

  it.each([
    ['file:///etc/passwd'],
    ['ftp://example.com/a.jpg'],
    ['data:image/png;base64,AAAA'],
    ['gopher://example.com/'],
    ['https://user:pw@example.com/a.jpg'],
    ['https://example.org/a.jpg'],
    ['not a url'],
    ['/relative.jpg'],
  ])('refuses %s', (url) => {
    expect(refusal(() => checkImageUrl(url, list))).toBe('INPUT_IMAGE_URL_FORBIDDEN');
  });

  it('resolves a relative redirect against its base and refuses an https → http downgrade', () => {
    const base = new URL('https://example.com/a/b.jpg');
    expect(checkImageUrl('../c.jpg', list, base).href).toBe('https://example.com/c.jpg');
    expect(refusal(() => checkImageUrl('http://example.com/c.jpg', list, base))).toBe('INPUT_IMAGE_URL_FORBIDDEN');
  });

  it('never echoes the URL in its message', () => {
    let message = '';
    try {
      checkImageUrl('https://secret.example.org/a.jpg?token=hunter2', list);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('allowlist');
    expect(message).not.toMatch(/hunter2|secret/);
  });
});

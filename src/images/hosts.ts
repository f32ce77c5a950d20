// The URL half of the image-fetch policy: http(s) only, no credentials, and a hostname on the
// allowlist (exact, or `*.example.com` for any subdomain). No network access here.
import { isIP } from 'node:net';
import { VlpError } from '../../protocol/errors.ts';

/** Lower-case, without IPv6 brackets and without a trailing dot (`Example.COM.` = `example.com`). */
export function normalizeHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  return h.endsWith('.') ? h.slice(0, -1) : h;
}

/** Whether `hostname` matches an allowlist entry. An empty list allows nothing. A wildcard entry
 *  `*.example.com` matches `a.example.com` and `a.b.example.com`, never `example.com` or an IP. */
export function hostAllowed(hostname: string, allowedHosts: readonly string[]): boolean {
  const host = normalizeHost(hostname);
  if (host === '') return false;
  for (const entry of allowedHosts) {
    const e = normalizeHost(entry);
    if (e.startsWith('*.')) {
      const suffix = e.slice(1); // ".example.com"
      if (suffix.length > 1 && host.length > suffix.length && host.endsWith(suffix) && isIP(host) === 0) return true;
    } else if (e !== '' && e === host) {
      return true;
    }
  }
  return false;
}

function forbidden(why: string): VlpError {
  return new VlpError('INPUT_IMAGE_URL_FORBIDDEN', `image URL refused: ${why}`);
}

/**
 * Parses `raw` (relative to `base` for a redirect's Location) and applies the URL policy.
 * `base` also forbids an https → http downgrade. Messages never echo the URL.
 */
export function checkImageUrl(raw: string, allowedHosts: readonly string[], base?: URL): URL {
  let url: URL;
  try {
    url = base === undefined ? new URL(raw) : new URL(raw, base);
  } catch {
    throw forbidden('not a valid absolute URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw forbidden('only http and https are allowed');
  if (base?.protocol === 'https:' && url.protocol === 'http:') throw forbidden('redirect from https to http');
  if (url.username !== '' || url.password !== '') throw forbidden('credentials in the URL are not allowed');
  if (!hostAllowed(url.hostname, allowedHosts)) throw forbidden('host is not on the allowlist');
  return url;
}

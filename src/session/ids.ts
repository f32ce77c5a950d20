// Session ids and resume tokens: random, URL-safe; tokens are compared in constant time.
import { randomBytes, timingSafeEqual } from 'node:crypto';

export function newSessionId(): string {
  return `s_${randomBytes(12).toString('base64url')}`;
}

export function newResumeToken(): string {
  return randomBytes(24).toString('base64url');
}

export function tokensEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

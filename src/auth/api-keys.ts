// API keys, held only as SHA-256 digests. A candidate is hashed and compared with every digest
// with timingSafeEqual, without stopping at a match: the time taken says nothing about which key
// matched or how much of one.
import { createHash, timingSafeEqual } from 'node:crypto';

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

export class ApiKeySet {
  private readonly digests: readonly Buffer[];

  constructor(keys: readonly string[]) {
    this.digests = keys.map(sha256);
  }

  get size(): number {
    return this.digests.length;
  }

  /** Position (in the configuration) of the key `candidate` is, or -1. */
  indexOf(candidate: string): number {
    if (this.digests.length === 0) return -1;
    const digest = sha256(candidate);
    let found = -1;
    this.digests.forEach((d, i) => {
      if (timingSafeEqual(digest, d) && found === -1) found = i;
    });
    return found;
  }
}

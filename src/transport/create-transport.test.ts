// createTransport(): an unknown kind throws instead of returning undefined as a TransportServer.
import { describe, expect, it } from 'vitest';
import { createTransport } from './index.ts';
import type { TransportKind, TransportOptions } from './index.ts';

describe('createTransport', () => {
  it('throws for a kind without a case', () => {
    const opts = {} as TransportOptions; // never read: the switch fails first
    expect(() => createTransport('h2' as unknown as TransportKind, opts)).toThrow(/unknown transport h2/);
  });
});

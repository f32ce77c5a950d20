// Tests: the VlpClientError a promise rejects with (fails the test when it resolves or rejects with
// anything else).
import { expect } from 'vitest';
import { VlpClientError } from './errors.ts';

export async function clientRejection(p: Promise<unknown>): Promise<VlpClientError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(VlpClientError);
    return err as VlpClientError;
  }
  throw new Error('expected a rejection');
}

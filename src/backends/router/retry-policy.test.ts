// Error classification (breaker vs. retry), backoff bounds and the abortable sleep.
import { describe, expect, it } from 'vitest';
import { VlpError } from '../../../protocol/errors.ts';
import type { ErrorCode } from '../../../protocol/errors.ts';
import { isAbortError } from '../abort.ts';
import { backoffMs, breakerFailureCode, isRetryable, sleep } from './retry-policy.ts';

describe('retry policy: classification', () => {
  const counted: ErrorCode[] = ['UPSTREAM_UNAVAILABLE', 'UPSTREAM_OVERLOADED', 'UPSTREAM_RESET', 'UPSTREAM_TIMEOUT'];
  const neutral: ErrorCode[] = ['UPSTREAM_REJECTED', 'UPSTREAM_PROTOCOL', 'UPSTREAM_GENERATION_FAILED', 'SERVER_INTERNAL'];

  it.each(counted)('%s counts against the breaker and is retried before any token only', (code) => {
    const err = new VlpError(code, 'x');
    expect(breakerFailureCode(err)).toBe(code);
    expect(isRetryable(err, 0)).toBe(true);
    expect(isRetryable(err, 1)).toBe(false);
  });

  it.each(neutral)('%s neither counts nor is retried', (code) => {
    const err = new VlpError(code, 'x');
    expect(breakerFailureCode(err)).toBeUndefined();
    expect(isRetryable(err, 0)).toBe(false);
  });

  it('honours an adapter veto (retryable: false) and ignores non-VlpErrors', () => {
    expect(isRetryable(new VlpError('UPSTREAM_OVERLOADED', 'x', { retryable: false }), 0)).toBe(false);
    const abort = new Error('aborted');
    abort.name = 'AbortError';
    expect(isRetryable(abort, 0)).toBe(false);
    expect(breakerFailureCode(abort)).toBeUndefined();
    expect(breakerFailureCode(new Error('bug'))).toBeUndefined();
  });
});

describe('retry policy: backoff', () => {
  it('doubles per retry within [step/2, step] and stops at the cap', () => {
    expect(backoffMs(1, 50, 2000, () => 0)).toBe(25);
    expect(backoffMs(1, 50, 2000, () => 1)).toBe(50);
    expect(backoffMs(2, 50, 2000, () => 0.5)).toBe(75);
    expect(backoffMs(3, 50, 2000, () => 1)).toBe(200);
    expect(backoffMs(20, 50, 2000, () => 1)).toBe(2000);
    expect(backoffMs(1, 0, 2000)).toBe(0);
  });

  it('sleep rejects with an AbortError at once when aborted, and clears its timer', async () => {
    const ac = new AbortController();
    const t0 = performance.now();
    const p = sleep(10_000, ac.signal);
    setTimeout(() => ac.abort(), 10);
    const err = await p.then(() => undefined, (e: unknown) => e);
    expect(isAbortError(err)).toBe(true);
    expect(performance.now() - t0).toBeLessThan(1000);
    await expect(sleep(5, ac.signal)).rejects.toThrow('aborted');
  });
});

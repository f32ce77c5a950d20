// Tests for TGI validation: every error text, check order and the token budget.
import { describe, expect, it } from 'vitest';
import { defaultParameters, type GenerateParameters } from './request.ts';
import { DEFAULT_LIMITS, validateBestOf, validateRequest, validateStreamOnly } from './validate.ts';

const count = (s: string): number => Math.ceil(s.length / 4) + 1;
const params = (p: Partial<GenerateParameters>): GenerateParameters => ({ ...defaultParameters(), do_sample: false, ...p });
const check = (p: Partial<GenerateParameters>, inputs = 'hello world'): string | undefined => {
  const v = validateRequest(inputs, params(p), DEFAULT_LIMITS, count);
  return v.ok ? undefined : v.message;
};
const P = 'Input validation error: ';

describe('validateRequest messages', () => {
  it.each<[Partial<GenerateParameters>, string]>([
    [{ best_of: 2 }, 'you must use sampling when `best_of` is > 1'],
    [{ temperature: 0 }, '`temperature` must be strictly positive'],
    [{ temperature: -1 }, '`temperature` must be strictly positive'],
    [{ temperature: 1e-46 }, '`temperature` must be strictly positive'],
    [{ repetition_penalty: 0 }, '`repetition_penalty` must be strictly positive'],
    [{ frequency_penalty: 2.5 }, '`frequency_penalty` must be >= -2.0 and <= 2.0'],
    [{ top_p: 1 }, '`top_p` must be > 0.0 and < 1.0'],
    [{ top_p: 0 }, '`top_p` must be > 0.0 and < 1.0'],
    [{ top_p: 0.99999999 }, '`top_p` must be > 0.0 and < 1.0'],
    [{ typical_p: 1.5 }, '`typical_p` must be > 0.0 and < 1.0'],
    [{ top_k: 0 }, '`top_k` must be strictly positive'],
    [{ max_new_tokens: 0 }, '`max_new_tokens` must be strictly positive'],
    [{ stop: ['a', 'b', 'c', 'd', 'e'] }, '`stop` supports up to 4 stop sequences. Given: 5'],
    [{ best_of: 2, do_sample: true, seed: 1n }, '`seed` must not be set when `best_of` > 1'],
    [{ top_n_tokens: 6 }, '`top_n_tokens` must be >= 0 and <= 5. Given: 6'],
    [{ truncate: 0 }, '`truncate` must be strictly positive and less than 4095. Given: 0'],
    [{ truncate: 5000 }, '`truncate` must be strictly positive and less than 4095. Given: 5000'],
    [{ max_new_tokens: 4096 }, '`inputs` tokens + `max_new_tokens` must be <= 4096. Given: 4 `inputs` tokens and 4096 `max_new_tokens`'],
  ])('%#: %s', (p, message) => {
    expect(check(p)).toBe(P + message);
  });

  it('rejects empty inputs', () => {
    expect(check({}, '')).toBe(P + '`inputs` cannot be empty');
  });

  it('rejects over-long inputs (total first, then input length)', () => {
    expect(check({ max_new_tokens: 10 }, 'x'.repeat(4 * 4090))).toBe(
      P + '`inputs` tokens + `max_new_tokens` must be <= 4096. Given: 4091 `inputs` tokens and 10 `max_new_tokens`',
    );
    expect(check({}, 'x'.repeat(4 * 5000))).toBe(
      P + '`inputs` tokens + `max_new_tokens` must be <= 4096. Given: 5001 `inputs` tokens and 0 `max_new_tokens`',
    );
    expect(check({}, 'x'.repeat(4 * 4095))).toBe(P + '`inputs` must have less than 4095 tokens. Given: 4096');
  });

  it('checks in TGI order', () => {
    expect(check({ temperature: 0, top_k: 0, max_new_tokens: 0 })).toBe(P + '`temperature` must be strictly positive');
    expect(check({ top_k: 0 }, '')).toBe(P + '`top_k` must be strictly positive');
  });

  it('resolves sampling and the token budget', () => {
    const greedy = validateRequest('hi', params({}), DEFAULT_LIMITS, count);
    expect(greedy).toEqual({ ok: true, value: { inputLength: 2, maxNewTokens: 4094, scheduledNewTokens: 1024, sampling: false, topNTokens: 0 } });
    const warped = validateRequest('hi', params({ top_k: 5, max_new_tokens: 7, truncate: 1 }), DEFAULT_LIMITS, count);
    expect(warped).toEqual({ ok: true, value: { inputLength: 1, maxNewTokens: 7, scheduledNewTokens: 7, sampling: true, topNTokens: 0 } });
  });
});

describe('stream-only and best_of checks', () => {
  it('rejects best_of and decoder_input_details on streams', () => {
    expect(validateStreamOnly(params({ best_of: 2 }))).toBe(P + '`best_of` != 1 is not supported when streaming tokens');
    expect(validateStreamOnly(params({ best_of: 0 }))).toBe(P + '`best_of` != 1 is not supported when streaming tokens');
    expect(validateStreamOnly(params({ decoder_input_details: true }))).toBe(
      P + '`decoder_input_details` == true is not supported when streaming tokens',
    );
    expect(validateStreamOnly(params({ best_of: 1 }))).toBeUndefined();
  });

  it('caps best_of', () => {
    expect(validateBestOf(3, DEFAULT_LIMITS)).toBe(P + '`best_of` must be > 0 and <= 2. Given: 3');
    expect(validateBestOf(2, { ...DEFAULT_LIMITS, maxBestOf: 1 })).toBe(P + '`best_of` != 1 is not allowed for this endpoint');
    expect(validateBestOf(2, DEFAULT_LIMITS)).toBeUndefined();
  });
});

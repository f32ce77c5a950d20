// Range checks of generation parameters (boundaries, field named in the message, no echo) and
// layering of parameter sets.
import { describe, expect, it } from 'vitest';
import { VlpError } from '../../protocol/errors.ts';
import type { GenParams } from '../../protocol/messages.ts';
import { checkGenParams, mergeParams } from './params.ts';

const LIMITS = { maxNewTokens: 1024, maxStop: 4, maxStopChars: 20 };

function rejection(p: GenParams): VlpError {
  try {
    checkGenParams(p, LIMITS);
  } catch (e) {
    expect(e).toBeInstanceOf(VlpError);
    expect((e as VlpError).code).toBe('INPUT_PARAM_OUT_OF_RANGE');
    return e as VlpError;
  }
  throw new Error(`accepted ${JSON.stringify(p)}`);
}

/** Each case: field, accepted values, rejected values. Values are cast: callers may be untyped. */
const CASES: [keyof GenParams, unknown[], unknown[]][] = [
  ['max_new_tokens', [1, 1024], [0, 1025, 1.5, -1, Number.NaN, '5']],
  ['temperature', [Number.MIN_VALUE, 0.001, 1, 100], [0, -0.1, 100.0001, Number.NaN, Number.POSITIVE_INFINITY]],
  ['top_k', [1, 50, Number.MAX_SAFE_INTEGER], [0, -1, 2.5, Number.POSITIVE_INFINITY]],
  ['top_p', [0.0001, 0.5, 0.9999], [0, 1, 1.2, -0.5, Number.NaN]],
  ['typical_p', [0.0001, 0.95, 0.9999], [0, 1, 2]],
  ['repetition_penalty', [0.01, 1, 100], [0, -1, 100.5, Number.NaN]],
  ['seed', [0, 42, Number.MAX_SAFE_INTEGER], [-1, 1.5, Number.MAX_SAFE_INTEGER + 1, 2 ** 64]],
  ['truncate', [1, 4096], [0, -3, 2.2]],
  ['best_of', [1], [0, 2, 1.5]],
  ['decoder_input_details', [false], [true, 'false']],
  ['do_sample', [true, false], ['yes', 1]],
  ['watermark', [true, false], [0]],
  ['return_full_text', [true, false], ['true']],
  ['details', [true, false], [null]],
];

describe('checkGenParams', () => {
  it.each(CASES)('%s: accepts its range and rejects the rest, naming the field', (field, good, bad) => {
    for (const v of good) {
      expect(checkGenParams({ [field]: v } as GenParams, LIMITS)).toEqual({ [field]: v });
    }
    for (const v of bad) {
      const e = rejection({ [field]: v } as GenParams);
      expect(e.message).toContain(`\`${field}\``);
    }
  });

  it('states the allowed range in the message', () => {
    expect(rejection({ max_new_tokens: 0 }).message).toBe('`max_new_tokens` must be an integer in 1..1024');
    expect(rejection({ temperature: 0 }).message).toBe('`temperature` must be > 0 and <= 100');
    expect(rejection({ top_p: 1 }).message).toBe('`top_p` must be > 0 and < 1');
    expect(rejection({ best_of: 2 }).message).toContain('not supported when streaming');
  });

  it('accepts up to maxStop stop strings of 1..maxStopChars characters (code points)', () => {
    const stops = ['a', '\nUser:', '😀'.repeat(20), 'x'.repeat(20)];
    expect(checkGenParams({ stop: stops }, LIMITS)).toEqual({ stop: stops });
    expect(checkGenParams({ stop: [] }, LIMITS)).toEqual({ stop: [] });
  });

  it('rejects too many, empty, too long or non-string stops without echoing them', () => {
    const secret = 'my-secret-stop-text!';
    const tooMany = rejection({ stop: [secret, 'b', 'c', 'd', 'e'] });
    expect(tooMany.message).toBe('`stop` must be a list of at most 4 strings of 1..20 characters');
    expect(rejection({ stop: ['ok', ''] }).message).toBe('`stop[1]` must be 1..20 characters long');
    const long = rejection({ stop: [`${secret}x`] });
    expect(long.message).toBe('`stop[0]` must be 1..20 characters long');
    expect(long.message).not.toContain(secret);
    expect(tooMany.message).not.toContain(secret);
    rejection({ stop: [3] as unknown as string[] });
    rejection({ stop: 'stop' as unknown as string[] });
  });

  it('returns a copy with only the known, defined fields', () => {
    const input = { max_new_tokens: 5, temperature: undefined, extra: 1 } as GenParams;
    const out = checkGenParams(input, LIMITS);
    expect(out).toEqual({ max_new_tokens: 5 });
    expect(Object.keys(out)).toEqual(['max_new_tokens']);
  });
});

describe('mergeParams', () => {
  it('layers model defaults < session < turn, field by field', () => {
    const model: GenParams = { max_new_tokens: 512, temperature: 0.7, stop: ['a'] };
    const session: GenParams = { temperature: 0.2, top_p: 0.9 };
    const turn: GenParams = { max_new_tokens: 64, stop: ['b', 'c'], top_p: undefined };
    expect(mergeParams(model, session, undefined, turn)).toEqual({
      max_new_tokens: 64, temperature: 0.2, top_p: 0.9, stop: ['b', 'c'],
    });
  });

  it('does not alias the inputs', () => {
    const stop = ['x'];
    const merged = mergeParams({ stop });
    merged.stop?.push('y');
    expect(stop).toEqual(['x']);
    expect(mergeParams()).toEqual({});
  });
});

// The upstream request body: fixed choices, explicit field copy, stop merging and the final-text
// stop stripping that goes with it.
import { describe, expect, it } from 'vitest';
import type { GenParams } from '../../../protocol/messages.ts';
import { withoutStopSuffix } from './events.ts';
import { mergeStops, tgiRequest } from './request.ts';

describe('TGI request', () => {
  it('puts template stops first, dedupes, drops empties and caps at 4', () => {
    expect(mergeStops(['<end_of_utterance>', '\nUser:'], ['\nUser:', '', 'a', 'b', 'c'])).toEqual(['<end_of_utterance>', '\nUser:', 'a', 'b']);
    expect(mergeStops([], undefined)).toEqual([]);
  });

  it('sends details, never return_full_text or decoder_input_details from the caller', () => {
    const p = { max_new_tokens: 8, seed: 3, return_full_text: true, decoder_input_details: true, details: false, extra: 1 } as GenParams;
    const { body, stop } = tgiRequest('[INST] q [/INST]', p, []);
    expect(JSON.parse(body)).toEqual({
      inputs: '[INST] q [/INST]',
      parameters: { details: true, return_full_text: false, max_new_tokens: 8, seed: 3 },
    });
    expect(stop).toEqual([]);
  });

  it('strips the longest matched stop from the final text only', () => {
    expect(withoutStopSuffix('A cat.\nUser:', ['User:', '\nUser:'])).toBe('A cat.');
    expect(withoutStopSuffix('A cat.', ['\nUser:'])).toBe('A cat.');
  });
});

// Parsing of InvokeEndpoint answers (TGI compat JSON) into the done event.
import { describe, expect, it } from 'vitest';
import type { VlpError } from '../../../protocol/errors.ts';
import { parseUnaryAnswer } from './unary.ts';

describe('parseUnaryAnswer', () => {
  it('reads the compat array and the bare object', () => {
    const details = { finish_reason: 'length', generated_tokens: 20 };
    expect(parseUnaryAnswer(JSON.stringify([{ generated_text: 'Paris.', details }]), [])).toEqual({ kind: 'done', finish: 'length', generatedText: 'Paris.', tokens: 20 });
    expect(parseUnaryAnswer('{"generated_text":"Paris."}', [])).toEqual({ kind: 'done', finish: 'eos_token', generatedText: 'Paris.', tokens: 1 });
  });

  it('strips a matched stop sequence', () => {
    const text = JSON.stringify([{ generated_text: 'A cat.\nUser:', details: { finish_reason: 'stop_sequence', generated_tokens: 5 } }]);
    expect(parseUnaryAnswer(text, ['<end_of_utterance>', '\nUser:']).generatedText).toBe('A cat.');
  });

  it('maps TGI error bodies and rejects anything else', () => {
    const code = (text: string): string => {
      try {
        parseUnaryAnswer(text, []);
      } catch (err) {
        return (err as VlpError).code;
      }
      return 'none';
    };
    expect(code('{"error":"Input validation error","error_type":"validation"}')).toBe('UPSTREAM_REJECTED');
    expect(code('not json')).toBe('UPSTREAM_PROTOCOL');
    expect(code('[]')).toBe('UPSTREAM_PROTOCOL');
    expect(code('[{"details":null}]')).toBe('UPSTREAM_PROTOCOL');
    expect(code('"text"')).toBe('UPSTREAM_PROTOCOL');
  });
});

// Tests for the axum/serde_json-faithful body decoder: texts, paths and line/column positions.
import { describe, expect, it } from 'vitest';
import { JsonDecodeError } from './json.ts';
import { parseGenerateRequest } from './request.ts';

function failure(body: string, compat = false): { category: string; message: string } {
  try {
    parseGenerateRequest(Buffer.from(body), compat);
  } catch (err) {
    if (err instanceof JsonDecodeError) return { category: err.category, message: err.message };
    throw err;
  }
  throw new Error('expected a decode error');
}

describe('request decoding (serde semantics)', () => {
  it('applies default_parameters() when parameters is absent and serde defaults when present', () => {
    const a = parseGenerateRequest(Buffer.from('{"inputs":"hi"}'), false);
    expect(a.parameters.do_sample).toBe(true);
    expect(a.parameters.max_new_tokens).toBeNull();
    const b = parseGenerateRequest(Buffer.from('{"inputs":"hi","parameters":{}}'), false);
    expect(b.parameters.do_sample).toBe(false);
    expect(b.parameters.stop).toEqual([]);
  });

  it('keeps u64 seeds exact and ignores unknown fields and trailing bytes', () => {
    const r = parseGenerateRequest(
      Buffer.from('{"inputs":"hi","x":[1,{"y":null}],"parameters":{"seed":18446744073709551615,"foo":1}} trailing'),
      false,
    );
    expect(r.parameters.seed).toBe(18446744073709551615n);
  });

  it('reads compat stream flag and unicode escapes', () => {
    const r = parseGenerateRequest(Buffer.from('{"inputs":"caf\\u00e9 \\ud83d\\ude00","stream":true}'), true);
    expect(r.inputs).toBe('café 😀');
    expect(r.stream).toBe(true);
  });
});

describe('data errors (422 texts)', () => {
  it.each([
    ['{}', 'missing field `inputs` at line 1 column 2'],
    ['{"parameters":{}}', 'missing field `inputs` at line 1 column 17'],
    ['{"inputs": 5}', 'inputs: invalid type: integer `5`, expected a string at line 1 column 12'],
    ['{"inputs":[1]}', 'inputs: invalid type: sequence, expected a string at line 1 column 10'],
    ['{"inputs":"a","parameters":{"temperature":"hot"}}', 'parameters.temperature: invalid type: string "hot", expected f32 at line 1 column 47'],
    ['{"inputs":"a","parameters":{"max_new_tokens":-1}}', 'parameters.max_new_tokens: invalid value: integer `-1`, expected u32 at line 1 column 47'],
    ['{"inputs":"a","parameters":{"max_new_tokens":1.5}}', 'parameters.max_new_tokens: invalid type: floating point `1.5`, expected u32 at line 1 column 48'],
    ['{"inputs":"a","parameters":{"top_k":3000000000}}', 'parameters.top_k: invalid value: integer `3000000000`, expected i32 at line 1 column 46'],
    ['{"inputs":"a","parameters":{"do_sample":null}}', 'parameters.do_sample: invalid type: null, expected a boolean at line 1 column 44'],
    ['{"inputs":"a","parameters":{"stop":["x",1]}}', 'parameters.stop[1]: invalid type: integer `1`, expected a string at line 1 column 41'],
    ['{"inputs":"a","parameters":"x"}', 'parameters: invalid type: string "x", expected struct GenerateParameters at line 1 column 30'],
    ['{"inputs":"a","inputs":"b"}', 'duplicate field `inputs` at line 1 column 22'],
    ['[1]', 'invalid type: sequence, expected struct GenerateRequest at line 1 column 0'],
  ])('%s', (body, message) => {
    expect(failure(body)).toEqual({ category: 'data', message });
  });

  it('names the compat struct on POST /', () => {
    expect(failure('"x"', true).message).toBe('invalid type: string "x", expected struct CompatGenerateRequest at line 1 column 3');
  });
});

describe('syntax errors (400 texts)', () => {
  it.each([
    ['', 'EOF while parsing a value at line 1 column 0'],
    ['{', 'EOF while parsing an object at line 1 column 1'],
    ['{"inputs": ', 'inputs: EOF while parsing a value at line 1 column 11'],
    ['{"inputs":"a",}', 'trailing comma at line 1 column 15'],
    ['{inputs:1}', 'key must be a string at line 1 column 2'],
    ['{"inputs" "a"}', 'inputs: expected `:` at line 1 column 11'],
    ['{"inputs":"a" "b"}', 'expected `,` or `}` at line 1 column 15'],
    ['{"inputs":"a","parameters":{"stop":["a" "b"]}}', 'parameters.stop[1]: expected `,` or `]` at line 1 column 41'],
    ['{"inputs":tru}', 'inputs: expected ident at line 1 column 14'],
    ['{"inputs":"a\nb"}', 'inputs: control character (\\u0000-\\u001F) found while parsing a string at line 2 column 0'],
    ['{"inputs":"a\\qb"}', 'inputs: invalid escape at line 1 column 14'],
    ['{"inputs":"abc', 'inputs: EOF while parsing a string at line 1 column 14'],
    ['{"inputs":"a","parameters":{"seed":01}}', 'parameters.seed: invalid number at line 1 column 37'],
    ['{\n  "inputs": x\n}', 'inputs: expected value at line 2 column 13'],
  ])('%j', (body, message) => {
    expect(failure(body)).toEqual({ category: 'syntax', message });
  });
});

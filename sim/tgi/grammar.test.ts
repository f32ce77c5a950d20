// `parameters.grammar` on the simulated TGI over real sockets: serde's decoding texts for a malformed
// GrammarType (axum 422 plain text), the router's grammar validation texts (422 on /generate,
// in-band on streams), and constrained answers that match the grammar, streamed token by token.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTgiSim, type TgiSim } from './index.ts';
import { events, post } from './test-client.ts';
import type { RequestEvent } from './types.ts';

const FAST = { ttftMs: 2, itlMs: 1, jitter: 0 } as const;

const SYSTEM = [
  'Pick one label.',
  'Labels:',
  '- detect (needs an image): find, locate, count or box objects in the image',
  '- segment (needs an image): cut out or outline objects pixel-accurately',
  '- vqa (needs an image): answer a question about the image',
  '- chat: plain dialogue with no image task',
];
const prompt = (user: string, image: boolean): string =>
  `[INST] <<SYS>>\n${[...SYSTEM, image ? 'The session has an image.' : 'The session has no image.'].join('\n')}\n<</SYS>>\n\n${user} [/INST]`;

const INTENT_SCHEMA = {
  type: 'object',
  properties: {
    label: { type: 'string', enum: ['detect', 'segment', 'vqa', 'chat'] },
    confidence: { type: 'number', minimum: 0, maximum: 1 },
  },
  required: ['label', 'confidence'],
  additionalProperties: false,
};

let sim: TgiSim;
beforeAll(async () => {
  sim = await startTgiSim(FAST);
});
afterAll(async () => {
  await sim.close();
});

/** Body text with `grammar` spliced in verbatim (so malformed JSON shapes can be sent). */
const rawBody = (grammar: string, inputs = 'Hi'): string => `{"inputs":${JSON.stringify(inputs)},"parameters":{"max_new_tokens":30,"grammar":${grammar}}}`;
const columnAfter = (body: string, needle: string): number => body.indexOf(needle) + needle.length;

describe('decoding a GrammarType (axum 422, serde texts)', () => {
  const PREFIX = 'Failed to deserialize the JSON body into the target type: ';
  it.each([
    ['{"type":"xml","value":1}', '"xml"', 'parameters.grammar.type: unknown variant `xml`, expected one of `json`, `regex`, `json_schema`'],
    ['{"type":5,"value":1}', '5', 'parameters.grammar.type: invalid type: integer `5`, expected variant identifier'],
    ['{"type":"regex","value":5}', '5', 'parameters.grammar.value: invalid type: integer `5`, expected a string'],
    ['{"value":"x"}', '"x"}', 'parameters.grammar: missing field `type`'],
    ['{"type":"json"}', '"json"}', 'parameters.grammar: missing field `value`'],
    ['{"type":"json_schema","value":{"name":"x"}}', '{"name":"x"}', 'parameters.grammar.value: missing field `schema`'],
    ['{"type":"json","type":"regex","value":"a"}', '"json","type"', 'parameters.grammar: duplicate field `type`'],
    ['"json"', '"json"', 'parameters.grammar: invalid type: string "json", expected adjacently tagged enum GrammarType'],
    ['{"value":5,"type":"regex"}', '"regex"', 'parameters.grammar.type: invalid type: integer `5`, expected a string'],
  ])('%s', async (grammar, after, message) => {
    const body = rawBody(grammar);
    const res = await post(sim.url, '/generate', body);
    expect(res.status).toBe(422);
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(res.text).toBe(`${PREFIX}${message} at line 1 column ${columnAfter(body, after)}`);
  });

  it('accepts the json_object alias, null, and ignores unknown keys', async () => {
    for (const grammar of [
      `{"type":"json_object","value":${JSON.stringify(INTENT_SCHEMA)}}`,
      `{"other":[1],"value":${JSON.stringify(INTENT_SCHEMA)},"type":"json"}`,
      'null',
    ]) {
      const res = await post(sim.url, '/generate', rawBody(grammar, prompt('segment the dog', true)));
      expect(res.status, grammar).toBe(200);
    }
  });
});

describe('grammar validation (router texts)', () => {
  const PREFIX = 'Input validation error: ';
  it.each([
    [{ type: 'json', value: { type: 'object' } }, "grammar is not valid: Grammar must have a 'properties' field"],
    [{ type: 'json_schema', value: { name: 'x', schema: { type: 'object' } } }, "grammar is not valid: Grammar must have a 'properties' field"],
    [{ type: 'json', value: 5 }, 'grammar is not supported'],
    [{ type: 'json', value: ['a'] }, 'grammar is not supported'],
    [{ type: 'json', value: '{' }, 'grammar is not valid: EOF while parsing an object at line 1 column 1'],
    [{ type: 'json', value: '{} x' }, 'grammar is not valid: trailing characters at line 1 column 4'],
    [{ type: 'json', value: '5' }, 'grammar is not valid: 5 is not of types "boolean", "object"'],
    [{ type: 'json', value: { properties: 5 } }, 'grammar is not valid: 5 is not of type "object"'],
    [{ type: 'json', value: { type: 'text', properties: {} } }, `grammar is not valid: "text" is not valid under any of the schemas listed in the 'anyOf' keyword`],
    [{ type: 'json', value: { properties: {}, required: 'a' } }, 'grammar is not valid: "a" is not of type "array"'],
    [{ type: 'json', value: { properties: { a: { type: 'number', minimum: 'x' } } } }, 'grammar is not valid: "x" is not of type "number"'],
  ])('%j', async (grammar, message) => {
    const res = await post(sim.url, '/generate', { inputs: 'Hi', parameters: { grammar } });
    expect(res.status).toBe(422);
    expect(JSON.parse(res.text)).toEqual({ error: PREFIX + message, error_type: 'validation' });
    const stream = await post(sim.url, '/generate_stream', { inputs: 'Hi', parameters: { grammar } });
    expect(stream.status).toBe(200);
    expect(events(stream.text)).toEqual([{ error: PREFIX + message, error_type: 'validation' }]);
  });

  it('checks the grammar after the input length, as validation.rs does', async () => {
    const res = await post(sim.url, '/generate', { inputs: 'Hi', parameters: { max_new_tokens: 5000, grammar: { type: 'json', value: 5 } } });
    expect(JSON.parse(res.text).error).toMatch(/^Input validation error: `inputs` tokens \+ `max_new_tokens` must be <= 4096/);
  });

  it('rejects every grammar under --disable-grammar-support', async () => {
    const off = await startTgiSim({ ...FAST, disableGrammarSupport: true });
    try {
      const res = await post(off.url, '/generate', { inputs: 'Hi', parameters: { grammar: { type: 'regex', value: 'a' } } });
      expect(res.status).toBe(422);
      expect(JSON.parse(res.text)).toEqual({ error: 'Input validation error: grammar is not supported', error_type: 'validation' });
      expect((await post(off.url, '/generate', { inputs: 'Hi', parameters: { max_new_tokens: 2 } })).status).toBe(200);
    } finally {
      await off.close();
    }
  });
});

interface Generated {
  generated_text: string;
  details: { finish_reason: string; generated_tokens: number };
}

async function generate(inputs: string, grammar: unknown, extra: Record<string, unknown> = {}): Promise<Generated> {
  const res = await post(sim.url, '/generate', { inputs, parameters: { max_new_tokens: 40, details: true, grammar, ...extra } });
  expect(res.status, res.text).toBe(200);
  return JSON.parse(res.text) as Generated;
}

describe('constrained answers', () => {
  it('writes a JSON object matching the intent schema, choosing the label from the prompt', async () => {
    const cases: [string, boolean, string][] = [
      ['segment the dog in this picture', true, 'segment'],
      ['where is the cup', true, 'detect'],
      ['what is in this image?', true, 'vqa'],
      ['tell me a joke', false, 'chat'],
      // The prompt says there is no image: labels that need one lose.
      ['where is Paris', false, 'chat'],
    ];
    for (const [text, image, label] of cases) {
      const out = await generate(prompt(text, image), { type: 'json', value: INTENT_SCHEMA });
      const parsed = JSON.parse(out.generated_text) as { label: string; confidence: number };
      expect(Object.keys(parsed), text).toEqual(['label', 'confidence']);
      expect(parsed.label, text).toBe(label);
      expect(parsed.confidence).toBeGreaterThan(0);
      expect(parsed.confidence).toBeLessThanOrEqual(1);
      expect(out.details.finish_reason).toBe('eos_token');
    }
  });

  it('writes a confidence restricted to an enum of numbers as the allowed value nearest the choice', async () => {
    const steps = [0, 0.25, 0.5, 0.75, 1];
    const schema = { ...INTENT_SCHEMA, properties: { ...INTENT_SCHEMA.properties, confidence: { type: 'number', enum: steps } } };
    const free = JSON.parse((await generate(prompt('outline the person', true), { type: 'json', value: INTENT_SCHEMA })).generated_text) as { confidence: number };
    const out = JSON.parse((await generate(prompt('outline the person', true), { type: 'json', value: schema })).generated_text) as { label: string; confidence: number };
    expect(out.label).toBe('segment');
    expect(steps).toContain(out.confidence);
    expect(Math.abs(out.confidence - free.confidence)).toBeLessThanOrEqual(0.125);
  });

  it('answers the json_schema variant and a schema given as a string the same way', async () => {
    const inputs = prompt('cut out the cat', true);
    const a = await generate(inputs, { type: 'json', value: INTENT_SCHEMA });
    const b = await generate(inputs, { type: 'json', value: JSON.stringify(INTENT_SCHEMA) });
    const c = await generate(inputs, { type: 'json_schema', value: { name: 'intent', schema: INTENT_SCHEMA } });
    expect(b.generated_text).toBe(a.generated_text);
    expect(c.generated_text).toBe(a.generated_text);
    expect(JSON.parse(a.generated_text).label).toBe('segment');
  });

  it('fills nested objects, arrays, integers, booleans, $refs, consts and string patterns', async () => {
    const schema = {
      $defs: { box: { type: 'object', properties: { x: { type: 'integer', minimum: 3 }, y: { type: 'integer' } } } },
      type: 'object',
      properties: {
        name: { type: 'string', maxLength: 40 },
        code: { type: 'string', pattern: '[A-Z]{2}-\\d{3}' },
        boxes: { type: 'array', items: { $ref: '#/$defs/box' }, minItems: 2 },
        ok: { type: 'boolean' },
        kind: { const: 'v1' },
        nothing: { type: 'null' },
      },
    };
    const out = await generate('[INST] Describe the red bicycle [/INST]', { type: 'json', value: schema }, { max_new_tokens: 200 });
    expect(JSON.parse(out.generated_text)).toEqual({ name: 'bicycle', code: 'AA-000', boxes: [{ x: 3, y: 0 }, { x: 3, y: 0 }], ok: true, kind: 'v1', nothing: null });
  });

  it('writes text matching a regex, picking alternatives with the prompt', async () => {
    const source = '(detect|segment|vqa|chat)';
    const out = await generate(prompt('outline the person', true), { type: 'regex', value: source });
    expect(out.generated_text).toBe('segment');
    const other = await generate('[INST] order 66 [/INST]', { type: 'regex', value: '[A-Z]\\w+ #\\d{2,4}(?:-[a-c]+)?' });
    expect(other.generated_text).toMatch(/^[A-Z]\w+ #\d{2,4}(?:-[a-c]+)?$/);
  });

  it('streams the constrained answer token by token and ends with EOS', async () => {
    const res = await post(sim.url, '/generate_stream', { inputs: prompt('segment the dog', true), parameters: { max_new_tokens: 40, details: true, grammar: { type: 'json', value: INTENT_SCHEMA } } });
    const ev = events(res.text);
    expect(ev.length).toBeGreaterThan(10);
    const last = ev[ev.length - 1];
    expect(last?.token).toMatchObject({ id: 2, text: '</s>', special: true });
    expect(last?.details?.finish_reason).toBe('eos_token');
    expect(last?.generated_text).toBe(ev.slice(0, -1).map((e) => e.token?.text).join(''));
    expect(JSON.parse(last?.generated_text ?? '')).toMatchObject({ label: 'segment' });
    for (const e of ev.slice(0, -1)) expect(e.generated_text).toBeNull();
  });

  it('stops at max_new_tokens like any generation (the answer is then cut)', async () => {
    const out = await generate(prompt('segment the dog', true), { type: 'json', value: INTENT_SCHEMA }, { max_new_tokens: 4 });
    expect(out.details).toMatchObject({ finish_reason: 'length', generated_tokens: 4 });
    expect(() => JSON.parse(out.generated_text)).toThrow();
  });

  it('fails a regex it cannot generate from as a generation error (unary 424, in-band on streams)', async () => {
    const grammar = { type: 'regex', value: '(?=a)b' };
    const res = await post(sim.url, '/generate', { inputs: 'Hi', parameters: { grammar } });
    expect(res.status).toBe(424);
    expect(JSON.parse(res.text)).toEqual({ error: 'Request failed during generation: Server error: lookaround is not supported', error_type: 'generation' });
    const stream = await post(sim.url, '/generate_stream', { inputs: 'Hi', parameters: { grammar } });
    expect(events(stream.text)).toEqual([{ error: 'Request failed during generation: Server error: lookaround is not supported', error_type: 'generation' }]);
  });

  it('reports the decoded grammar in request events and applies response_format on the chat route', async () => {
    const seen: RequestEvent[] = [];
    const onRequest = (e: RequestEvent): void => void seen.push(e);
    sim.events.on('request', onRequest);
    try {
      const res = await post(sim.url, '/v1/chat/completions', {
        messages: [{ role: 'system', content: SYSTEM.join('\n') }, { role: 'user', content: 'segment the dog' }],
        max_tokens: 40,
        response_format: { type: 'json', value: INTENT_SCHEMA },
      });
      expect(res.status).toBe(200);
      const content = (JSON.parse(res.text) as { choices: { message: { content: string } }[] }).choices[0]?.message.content ?? '';
      expect(JSON.parse(content)).toMatchObject({ label: 'segment' });
      expect(seen.at(-1)?.params.grammar).toEqual({ type: 'json', value: INTENT_SCHEMA });
    } finally {
      sim.events.off('request', onRequest);
    }
  });
});

// Tests for simulated generation: determinism, stopping criteria, prompt reading and tokenization.
import { describe, expect, it } from 'vitest';
import { pickTopic } from './answer.ts';
import { planGeneration, type PlanInput } from './generate.ts';
import { parsePrompt } from './prompt.ts';
import { countInputTokens, countPieces, splitPieces, tokenId } from './tokenize.ts';

const LLAMA = '[INST] <<SYS>>\nYou are helpful.\n<</SYS>>\n\nHi [/INST] Hello! </s><s>[INST] What is the capital of France? [/INST]';
const IDEFICS = 'User:![](data:image/png;base64,iVBORw0KGgo=)What animal is in this picture?<end_of_utterance>\nAssistant:';

function input(over: Partial<PlanInput> = {}): PlanInput {
  const inputs = over.inputs ?? LLAMA;
  return {
    inputs,
    view: parsePrompt(inputs),
    kind: 'llm',
    maxNewTokens: 1000,
    stop: [],
    sampling: true,
    seed: 42n,
    topN: 0,
    answerTokens: { min: 40, max: 80 },
    ...over,
  };
}

describe('planGeneration', () => {
  it('is deterministic for (seed, inputs) and varies with the seed when sampling', () => {
    const a = planGeneration(input());
    const b = planGeneration(input());
    expect(b).toEqual(a);
    const lengths = new Set<number>();
    for (let seed = 1n; seed <= 20n; seed++) lengths.add(planGeneration(input({ seed })).tokens.length);
    expect(lengths.size).toBeGreaterThan(3);
  });

  it('ignores the seed when greedy and reports seed null', () => {
    const a = planGeneration(input({ sampling: false, seed: 1n }));
    const b = planGeneration(input({ sampling: false, seed: 2n }));
    expect(a.tokens).toEqual(b.tokens);
    expect(a.seed).toBeNull();
    expect(planGeneration(input()).seed).toBe(42n);
  });

  it('ends with </s> (eos_token) and answer length within the configured range', () => {
    for (let seed = 0n; seed < 30n; seed++) {
      const g = planGeneration(input({ seed }));
      const last = g.tokens.at(-1);
      expect(last).toEqual({ id: 2, text: '</s>', logprob: expect.any(Number) as number, special: true });
      expect(g.finishReason).toBe('eos_token');
      expect(g.tokens.length - 1).toBeGreaterThanOrEqual(40);
      expect(g.tokens.length - 1).toBeLessThanOrEqual(100);
      expect(g.generatedText).toBe(g.tokens.filter((t) => !t.special).map((t) => t.text).join(''));
    }
  });

  it('mentions the user topic', () => {
    expect(planGeneration(input()).generatedText).toContain('France');
  });

  it('stops at max_new_tokens with finish_reason length', () => {
    const g = planGeneration(input({ maxNewTokens: 5 }));
    expect(g.tokens).toHaveLength(5);
    expect(g.finishReason).toBe('length');
    expect(g.tokens.every((t) => !t.special)).toBe(true);
  });

  it('stops on a stop sequence and keeps it in generated_text', () => {
    const full = planGeneration(input());
    const stopWord = full.tokens[3]?.text ?? '';
    const g = planGeneration(input({ stop: ['zzz', stopWord] }));
    expect(g.finishReason).toBe('stop_sequence');
    expect(g.tokens.length).toBeLessThanOrEqual(4);
    expect(g.generatedText.endsWith(stopWord)).toBe(true);
  });

  it('ends IDEFICS answers with <end_of_utterance> when it is a stop', () => {
    const g = planGeneration(input({ inputs: IDEFICS, kind: 'vlm', stop: ['<end_of_utterance>', '\nUser:'] }));
    expect(g.tokens.at(-1)).toMatchObject({ id: 32002, text: '<end_of_utterance>', special: true });
    expect(g.finishReason).toBe('stop_sequence');
    expect(g.generatedText).not.toContain('<end_of_utterance>');
    const h = planGeneration(input({ inputs: IDEFICS, kind: 'vlm', stop: ['\nUser:'] }));
    expect(h.generatedText.endsWith('\nUser:')).toBe(true);
    const i = planGeneration(input({ inputs: IDEFICS, kind: 'vlm' }));
    expect(i.finishReason).toBe('eos_token');
  });

  it('adds top tokens when asked, the chosen token first', () => {
    const g = planGeneration(input({ topN: 3 }));
    expect(g.topTokens).toHaveLength(g.tokens.length);
    g.topTokens?.forEach((row, i) => {
      expect(row).toHaveLength(3);
      expect(row[0]).toEqual(g.tokens[i]);
    });
  });
});

describe('prompt reading', () => {
  it('finds the last Llama-2 user message and the system prompt', () => {
    const v = parsePrompt(LLAMA);
    expect(v).toMatchObject({ format: 'llama2', lastUser: 'What is the capital of France?', system: 'You are helpful.', history: 1 });
  });

  it('finds the IDEFICS question and counts images', () => {
    expect(parsePrompt(IDEFICS)).toMatchObject({ format: 'idefics', lastUser: 'What animal is in this picture?', images: 1 });
  });

  it('picks a content word, preferring proper nouns', () => {
    expect(pickTopic('What is the capital of France?')).toBe('France');
    expect(pickTopic('what animal is this')).toBe('animal');
    expect(pickTopic('hi [[sim:fault=stall]]')).toBe('');
  });
});

describe('tokenizer stand-in', () => {
  it('splits into word-piece-like tokens', () => {
    expect(splitPieces(' The capital of France is Paris, 42.\n')).toEqual([
      ' The', ' capital', ' of', ' France', ' is', ' Paris', ',', ' 4', '2', '.', '\n',
    ]);
    expect(splitPieces(' understanding')).toEqual([' under', 'stand', 'ing']);
    expect(splitPieces('a<end_of_utterance>')).toEqual(['a', '<end_of_utterance>']);
  });

  it('counts like it splits, with BOS and one token per image for the VLM', () => {
    const text = 'Hello, wonderful world of tokenization! 123';
    expect(countPieces(text)).toBe(splitPieces(text).length);
    expect(countInputTokens(IDEFICS, 'vlm')).toBe(1 + 1 + countPieces(IDEFICS.replace(/!\[\]\([^)]*\)/, '')));
    expect(countInputTokens(IDEFICS, 'llm')).toBeGreaterThan(countInputTokens(IDEFICS, 'vlm'));
  });

  it('uses fixed ids for specials and stable hashed ids otherwise', () => {
    expect(tokenId('</s>')).toBe(2);
    expect(tokenId('<end_of_utterance>')).toBe(32002);
    expect(tokenId(' The')).toBe(tokenId(' The'));
    expect(tokenId(' The')).toBeGreaterThanOrEqual(259);
    expect(tokenId(' The')).toBeLessThan(32000);
  });
});

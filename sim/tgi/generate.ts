// Simulated text generation: turns (prompt, parameters, seed) into the exact token sequence TGI would
// stream, applying TGI's stopping criteria in its order (max_new_tokens, then EOS, then stop
// sequences matched against the decoded output's end). Greedy output depends on the prompt only;
// sampled output on (seed, prompt).
import { fnv1a, mix32, mulberry32, randInt, seedParts, type Rand } from '../random.ts';
import { composeAnswer } from './answer.ts';
import { GrammarGenerationError, grammarAnswer, type CompiledGrammar } from './grammar.ts';
import type { PromptView } from './prompt.ts';
import { END_OF_UTTERANCE, EOS, splitPieces, tokenId } from './tokenize.ts';

export type FinishReason = 'length' | 'eos_token' | 'stop_sequence';

export interface SimToken {
  id: number;
  text: string;
  logprob: number;
  special: boolean;
}

export interface GenerationPlan {
  /** Every generated token, the last one included (EOS, stop or length). */
  tokens: SimToken[];
  /** Alternatives per token when top_n_tokens > 0, else null. */
  topTokens: SimToken[][] | null;
  finishReason: FinishReason;
  /** Decoded text without special tokens (no return_full_text prefix). */
  generatedText: string;
  /** `details.seed`: the sampling seed, null for greedy decoding. */
  seed: bigint | null;
  /** Set when no text matching the request's grammar could be written (the shard would fail the
   *  request: a generation error); `tokens` is then empty. */
  grammarError?: string;
}

export interface PlanInput {
  inputs: string;
  view: PromptView;
  kind: 'llm' | 'vlm';
  /** Effective cap (already resolved from max_new_tokens / max_total_tokens). */
  maxNewTokens: number;
  stop: string[];
  sampling: boolean;
  seed: bigint;
  topN: number;
  answerTokens: { min: number; max: number };
  /** A validated grammar: the answer is text matching it, then EOS (outlines allows nothing else
   *  once the grammar is complete). */
  grammar?: CompiledGrammar | null;
}

const ALTERNATIVES = [' the', ' a', ' and', ',', '.', ' to', ' of', ' in', ' it', ' is', ' this', ' that'];

function hashInputs(inputs: string): number {
  if (inputs.length <= 65536) return fnv1a(inputs);
  return mix32(fnv1a(inputs.slice(0, 32768)), fnv1a(inputs.slice(-32768)), inputs.length);
}

/** A logprob rounded to 4 decimals, strictly negative and never integral (so it prints like f32). */
function logprob(rand: Rand, sampling: boolean): number {
  const r = rand();
  let x = -(sampling ? r * r * 2.5 : r * r * r * 1.2) - 0.0005;
  x = Math.round(x * 10000) / 10000;
  if (x > -0.0001) x = -0.0001;
  if (Number.isInteger(x)) x -= 0.0001;
  return x;
}

function alternativesFor(token: SimToken, n: number, rand: Rand): SimToken[] {
  const out: SimToken[] = [token];
  let lp = token.logprob;
  let k = Math.floor(rand() * ALTERNATIVES.length);
  while (out.length < n) {
    const text = ALTERNATIVES[k % ALTERNATIVES.length] as string;
    k++;
    if (text === token.text) continue;
    lp = Math.round((lp - 0.4 - rand() * 1.5) * 10000) / 10000;
    if (Number.isInteger(lp)) lp -= 0.0001;
    out.push({ id: tokenId(text), text, logprob: lp, special: false });
  }
  return out;
}

/** TGI decodes generated_text with `decode_token` over a one-token prompt prefix and
 *  skip_special_tokens=True: the token texts concatenated, specials dropped, leading space kept. */
function decodeGenerated(tokens: SimToken[]): string {
  let text = '';
  for (const t of tokens) if (!t.special) text += t.text;
  return text;
}

export function planGeneration(input: PlanInput): GenerationPlan {
  const [lo, hi] = seedParts(input.seed);
  const key = input.sampling ? mix32(hashInputs(input.inputs), lo, hi) : mix32(hashInputs(input.inputs));
  const textRand = mulberry32(key);
  const probRand = mulberry32(mix32(key, 0x5eed));
  const min = Math.max(1, Math.floor(input.answerTokens.min));
  const max = Math.max(min, Math.floor(input.answerTokens.max));
  const target = randInt(textRand, min, max);
  let answer: string;
  if (input.grammar) {
    try {
      answer = grammarAnswer(input.grammar, input.view, input.inputs);
    } catch (err) {
      if (!(err instanceof GrammarGenerationError)) throw err;
      return { tokens: [], topTokens: null, finishReason: 'eos_token', generatedText: '', seed: null, grammarError: err.message };
    }
  } else {
    answer = composeAnswer(input.view, textRand, target);
  }

  const candidates: { id: number; text: string; special: boolean }[] = splitPieces(answer).map((text) => ({
    id: tokenId(text),
    text,
    special: false,
  }));
  // IDEFICS answers close the turn with <end_of_utterance> then start a fake "\nUser:" turn; a
  // stop sequence on either ends generation there (as the seed demo relies on).
  if (!input.grammar && (input.kind === 'vlm' || input.view.format === 'idefics')) {
    candidates.push({ ...END_OF_UTTERANCE, special: true });
    for (const text of ['\n', 'User', ':']) candidates.push({ id: tokenId(text), text, special: false });
  }
  candidates.push({ ...EOS, special: true });

  const tokens: SimToken[] = [];
  const topTokens: SimToken[][] | null = input.topN > 0 ? [] : null;
  const stops = input.stop.filter((s) => s.length > 0);
  let output = '';
  let finishReason: FinishReason = 'eos_token';
  for (const c of candidates) {
    const token: SimToken = { ...c, logprob: c.special ? -0.0123 : logprob(probRand, input.sampling) };
    tokens.push(token);
    topTokens?.push(alternativesFor(token, input.topN, probRand));
    if (tokens.length >= input.maxNewTokens) {
      finishReason = 'length';
      break;
    }
    if (token.id === EOS.id) {
      finishReason = 'eos_token';
      break;
    }
    if (stops.length > 0) {
      output += token.text;
      if (output.length > 1000) output = output.slice(-1000);
      if (stops.some((s) => output.endsWith(s))) {
        finishReason = 'stop_sequence';
        break;
      }
    }
  }
  return {
    tokens,
    topTokens,
    finishReason,
    generatedText: decodeGenerated(tokens),
    seed: input.sampling ? input.seed : null,
  };
}

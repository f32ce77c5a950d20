// Per-request preparation shared by streaming and non-streaming routes: prompt view, fault choice,
// effective seed, latency PRNG, and the generation plan once validation has passed.
import type { Fault } from '../faults.ts';
import { mix32, mulberry32, randomU64, seedParts, type Rand } from '../random.ts';
import type { SimContext } from './context.ts';
import { planGeneration, type GenerationPlan } from './generate.ts';
import type { CompiledGrammar } from './grammar.ts';
import { parsePrompt, type PromptView } from './prompt.ts';
import type { GenerateParameters } from './request.ts';
import { countInputTokens } from './tokenize.ts';
import type { TgiRoute } from './types.ts';
import type { ValidRequest } from './validate.ts';

export interface Prepared {
  id: number;
  route: TgiRoute;
  inputs: string;
  params: GenerateParameters;
  view: PromptView;
  fault: Fault | undefined;
  /** Seed as sent, else a random u64 (TGI draws one too). */
  seed: bigint;
  /** Seed reported in token-emitted events. */
  traceSeed: number;
  /** PRNG for latency jitter (deterministic from the seed). */
  latencyRand: Rand;
  /** performance.now() when the body had been read. */
  arrivedAt: number;
  /** The router tokenizes with add_special_tokens (adds BOS): true on the native routes, false on
   *  the chat route, whose template already writes `<s>`. */
  addSpecialTokens: boolean;
}

export interface PrepareOptions {
  /** Text searched for a `[[sim:fault=...]]` directive (default: the prompt's last user segment). */
  directiveText?: string;
  /** Default true (see Prepared.addSpecialTokens). */
  addSpecialTokens?: boolean;
}

export function prepare(
  ctx: SimContext,
  route: TgiRoute,
  inputs: string,
  params: GenerateParameters,
  options: PrepareOptions = {},
): Prepared {
  const view = parsePrompt(inputs);
  const seed = params.seed ?? randomU64();
  const [lo, hi] = seedParts(seed);
  return {
    id: ctx.newId(),
    route,
    inputs,
    params,
    view,
    fault: ctx.faults.pick(options.directiveText ?? view.lastUserRaw),
    seed,
    traceSeed: Number(seed),
    latencyRand: mulberry32(mix32(lo, hi, 0x1a7e)),
    arrivedAt: performance.now(),
    addSpecialTokens: options.addSpecialTokens ?? true,
  };
}

/** The router's input-token count for this request (BOS only when it adds special tokens). */
export function inputTokenCounter(ctx: SimContext, p: Prepared): (inputs: string) => number {
  const bos = p.addSpecialTokens ? 0 : 1;
  return (s) => countInputTokens(s, ctx.opts.kind) - bos;
}

export function plan(ctx: SimContext, p: Prepared, valid: ValidRequest, seed = p.seed, grammar: CompiledGrammar | null = null): GenerationPlan {
  return planGeneration({
    grammar,
    inputs: p.inputs,
    view: p.view,
    kind: ctx.opts.kind,
    maxNewTokens: valid.maxNewTokens,
    stop: p.params.stop,
    sampling: valid.sampling,
    seed,
    topN: valid.topNTokens,
    answerTokens: ctx.opts.answerTokens,
  });
}

/** Unicode scalar count, like Rust's `inputs.chars().count()` (x-compute-characters). */
export function charCount(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xdc00 && c <= 0xdfff && i > 0) {
      const prev = s.charCodeAt(i - 1);
      if (prev >= 0xd800 && prev <= 0xdbff) n--;
    }
  }
  return n;
}

// TGI's parameter validation (router/src/validation.rs and server.rs at v3.3.x) with its exact error
// texts and check order. Every message is returned already prefixed "Input validation error: ".
import type { GenerateParameters } from './request.ts';

export interface ValidationLimits {
  maxBestOf: number;
  maxStopSequences: number;
  maxTopNTokens: number;
  maxInputTokens: number;
  maxTotalTokens: number;
}

/** Launcher defaults (launcher/src/main.rs) with the /info token limits of a 4k-context model. */
export const DEFAULT_LIMITS: ValidationLimits = {
  maxBestOf: 2,
  maxStopSequences: 4,
  maxTopNTokens: 5,
  maxInputTokens: 4095,
  maxTotalTokens: 4096,
};

/** TGI v3 schedules generation in chunks of this many tokens when max_new_tokens is unset. */
const DEFAULT_GENERATION_LENGTH = 1024;

export interface ValidRequest {
  /** Prompt tokens as the router counts them (after truncate). */
  inputLength: number;
  /** Total tokens the request may generate (max_new_tokens, or max_total - input when unset). */
  maxNewTokens: number;
  /** What TGI records in tgi_request_max_new_tokens (unset: capped at its 1024-token chunk). */
  scheduledNewTokens: number;
  /** Sampling is on: do_sample or any warper set. */
  sampling: boolean;
  topNTokens: number;
}

export type Validation = { ok: true; value: ValidRequest } | { ok: false; message: string };

const PREFIX = 'Input validation error: ';
const fail = (msg: string): Validation => ({ ok: false, message: PREFIX + msg });

/** Streaming-only rejections done in `generate_stream_internal` before the concurrency permit. */
export function validateStreamOnly(p: GenerateParameters): string | undefined {
  if ((p.best_of ?? 1) !== 1) return PREFIX + '`best_of` != 1 is not supported when streaming tokens';
  if (p.decoder_input_details) return PREFIX + '`decoder_input_details` == true is not supported when streaming tokens';
  return undefined;
}

/** `validate_best_of`, run by /generate before best_of > 1 fan-out. */
export function validateBestOf(bestOf: number, limits: ValidationLimits): string | undefined {
  if (limits.maxBestOf === 1 && bestOf !== 1) return PREFIX + '`best_of` != 1 is not allowed for this endpoint';
  if (bestOf > limits.maxBestOf) return PREFIX + `\`best_of\` must be > 0 and <= ${limits.maxBestOf}. Given: ${bestOf}`;
  return undefined;
}

/** The message used for the injected `validation` fault (a plausible real one). */
export function validationFaultMessage(limits: ValidationLimits): string {
  return PREFIX + `\`inputs\` must have less than ${limits.maxInputTokens} tokens. Given: ${limits.maxInputTokens + 1}`;
}

/** `Validation::validate`. `countTokens` is the (approximate) tokenizer. Floats are compared as f32. */
export function validateRequest(
  inputs: string,
  p: GenerateParameters,
  limits: ValidationLimits,
  countTokens: (inputs: string) => number,
): Validation {
  const bestOf = p.best_of ?? 1;
  const sampling = p.do_sample || p.temperature !== null || p.top_k !== null || p.top_p !== null || p.typical_p !== null;
  if (bestOf > 1 && !sampling) return fail('you must use sampling when `best_of` is > 1');

  const f32 = Math.fround;
  if (f32(p.temperature ?? 1) <= 0) return fail('`temperature` must be strictly positive');
  if (f32(p.repetition_penalty ?? 1) <= 0) return fail('`repetition_penalty` must be strictly positive');
  const frequency = f32(p.frequency_penalty ?? 0);
  if (frequency < -2 || frequency > 2) return fail('`frequency_penalty` must be >= -2.0 and <= 2.0');
  if (p.top_p !== null && (f32(p.top_p) <= 0 || f32(p.top_p) >= 1)) return fail('`top_p` must be > 0.0 and < 1.0');
  if (p.typical_p !== null && (f32(p.typical_p) <= 0 || f32(p.typical_p) >= 1)) {
    return fail('`typical_p` must be > 0.0 and < 1.0');
  }
  if (p.top_k !== null && p.top_k <= 0) return fail('`top_k` must be strictly positive');
  if (p.max_new_tokens === 0) return fail('`max_new_tokens` must be strictly positive');
  if (p.stop.length > limits.maxStopSequences) {
    return fail(`\`stop\` supports up to ${limits.maxStopSequences} stop sequences. Given: ${p.stop.length}`);
  }
  if (p.seed !== null && bestOf > 1) return fail('`seed` must not be set when `best_of` > 1');
  const topN = p.top_n_tokens ?? 0;
  if (topN > limits.maxTopNTokens) {
    return fail(`\`top_n_tokens\` must be >= 0 and <= ${limits.maxTopNTokens}. Given: ${topN}`);
  }
  if (inputs.length === 0) return fail('`inputs` cannot be empty');
  if (p.truncate !== null && (p.truncate === 0 || p.truncate > limits.maxInputTokens)) {
    return fail(`\`truncate\` must be strictly positive and less than ${limits.maxInputTokens}. Given: ${p.truncate}`);
  }

  const encoded = countTokens(inputs);
  const inputLength = p.truncate !== null ? Math.min(encoded, p.truncate) : encoded;
  let maxNew: number;
  let maxTotalNew: number;
  if (p.max_new_tokens !== null) {
    maxNew = p.max_new_tokens;
    maxTotalNew = p.max_new_tokens;
  } else {
    maxTotalNew = Math.max(0, limits.maxTotalTokens - inputLength);
    maxNew = Math.min(maxTotalNew, DEFAULT_GENERATION_LENGTH);
  }
  if (inputLength + maxNew > limits.maxTotalTokens) {
    return fail(
      `\`inputs\` tokens + \`max_new_tokens\` must be <= ${limits.maxTotalTokens}. Given: ${inputLength} \`inputs\` tokens and ${maxNew} \`max_new_tokens\``,
    );
  }
  if (inputLength > limits.maxInputTokens) {
    return fail(`\`inputs\` must have less than ${limits.maxInputTokens} tokens. Given: ${inputLength}`);
  }
  return { ok: true, value: { inputLength, maxNewTokens: maxTotalNew, scheduledNewTokens: maxNew, sampling, topNTokens: topN } };
}

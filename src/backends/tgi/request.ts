// Builds the JSON body of a TGI `/generate_stream` request: the rendered prompt as `inputs` and
// the checked GenParams as `parameters`, with the adapter's fixed choices applied.
import type { GenParams } from '../../../protocol/messages.ts';

/** TGI's default max_stop_sequences; more is a validation error upstream. */
export const TGI_MAX_STOP = 4;

/** Template stops first (the template breaks without them), then the caller's, deduplicated and
 *  capped at TGI_MAX_STOP: a caller's extra stops are the ones dropped. */
export function mergeStops(templateStops: readonly string[], userStops: readonly string[] | undefined): string[] {
  const out: string[] = [];
  for (const list of [templateStops, userStops ?? []]) {
    for (const s of list) {
      if (out.length === TGI_MAX_STOP) return out;
      if (s.length > 0 && !out.includes(s)) out.push(s);
    }
  }
  return out;
}

/** TGI `parameters`: only known fields, copied explicitly. Fixed choices:
 *  - details: true — the final event then carries finish_reason and generated_tokens;
 *  - return_full_text: false — otherwise generated_text would start with the rendered prompt
 *    (server system prompt, few-shot examples, template markers), which must not reach clients;
 *  - decoder_input_details is never sent (TGI rejects it on streams). */
export function tgiParameters(p: GenParams, templateStops: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = { details: true, return_full_text: false };
  if (p.max_new_tokens !== undefined) out.max_new_tokens = p.max_new_tokens;
  if (p.temperature !== undefined) out.temperature = p.temperature;
  if (p.top_k !== undefined) out.top_k = p.top_k;
  if (p.top_p !== undefined) out.top_p = p.top_p;
  if (p.typical_p !== undefined) out.typical_p = p.typical_p;
  if (p.repetition_penalty !== undefined) out.repetition_penalty = p.repetition_penalty;
  if (p.seed !== undefined) out.seed = p.seed;
  if (p.do_sample !== undefined) out.do_sample = p.do_sample;
  if (p.truncate !== undefined) out.truncate = p.truncate;
  if (p.watermark !== undefined) out.watermark = p.watermark;
  if (p.best_of !== undefined) out.best_of = p.best_of;
  const stop = mergeStops(templateStops, p.stop);
  if (stop.length > 0) out.stop = stop;
  return out;
}

export interface TgiRequest {
  /** JSON body for POST /generate_stream. */
  body: string;
  /** The stop sequences sent (to strip a matched one from the final text). */
  stop: readonly string[];
}

export function tgiRequest(inputs: string, p: GenParams, templateStops: readonly string[]): TgiRequest {
  const parameters = tgiParameters(p, templateStops);
  const stop = Array.isArray(parameters.stop) ? (parameters.stop as string[]) : [];
  return { body: JSON.stringify({ inputs, parameters }), stop };
}

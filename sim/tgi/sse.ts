// TGI wire serialisation: SSE framing as axum writes it (`data: {...}\n\n` since TGI v2.1 / axum 0.7,
// `data:{...}\n\n` before) and the JSON of StreamResponse / GenerateResponse / ErrorResponse with
// serde's field order, explicit nulls and ryu-formatted floats.
import type { FinishReason, SimToken } from './generate.ts';
import { formatF32 } from './numfmt.ts';

/** axum's keep-alive comment (`KeepAlive::default()`, text ""). */
export const SSE_KEEPALIVE = ':\n\n';

/** Frame one event: a single `data` field, no `event:`/`id:`. */
export function sseData(json: string, legacyFraming: boolean): string {
  return (legacyFraming ? 'data:' : 'data: ') + json + '\n\n';
}

export function tokenJson(t: SimToken): string {
  return `{"id":${t.id},"text":${JSON.stringify(t.text)},"logprob":${formatF32(t.logprob)},"special":${t.special}}`;
}

export function errorJson(error: string, errorType: string): string {
  return `{"error":${JSON.stringify(error)},"error_type":${JSON.stringify(errorType)}}`;
}

export interface StreamDetails {
  finishReason: FinishReason;
  generatedTokens: number;
  seed: bigint | null;
  inputLength: number;
}

/** StreamResponse: index, token, top_tokens (omitted when empty), generated_text, details. */
export function streamEventJson(
  index: number,
  token: SimToken,
  topTokens: SimToken[] | undefined,
  generatedText: string | null,
  details: StreamDetails | null,
): string {
  let s = `{"index":${index},"token":${tokenJson(token)}`;
  if (topTokens && topTokens.length > 0) s += `,"top_tokens":[${topTokens.map(tokenJson).join(',')}]`;
  s += `,"generated_text":${generatedText === null ? 'null' : JSON.stringify(generatedText)}`;
  if (details === null) return s + ',"details":null}';
  return (
    s +
    `,"details":{"finish_reason":"${details.finishReason}","generated_tokens":${details.generatedTokens},` +
    `"seed":${details.seed === null ? 'null' : details.seed.toString()},"input_length":${details.inputLength}}}`
  );
}

export interface PrefillToken {
  id: number;
  text: string;
  logprob: number | null;
}

export interface BestOfSequence {
  generatedText: string;
  finishReason: FinishReason;
  generatedTokens: number;
  seed: bigint | null;
  prefill: PrefillToken[];
  tokens: SimToken[];
  topTokens: SimToken[][];
}

export interface ResponseDetails {
  finishReason: FinishReason;
  generatedTokens: number;
  seed: bigint | null;
  prefill: PrefillToken[];
  tokens: SimToken[];
  bestOfSequences?: BestOfSequence[];
  topTokens: SimToken[][];
}

function prefillJson(p: PrefillToken): string {
  return `{"id":${p.id},"text":${JSON.stringify(p.text)},"logprob":${p.logprob === null ? 'null' : formatF32(p.logprob)}}`;
}

const list = <T>(items: T[], f: (x: T) => string): string => `[${items.map(f).join(',')}]`;

function bestOfJson(b: BestOfSequence): string {
  let s =
    `{"generated_text":${JSON.stringify(b.generatedText)},"finish_reason":"${b.finishReason}",` +
    `"generated_tokens":${b.generatedTokens},"seed":${b.seed === null ? 'null' : b.seed.toString()},` +
    `"prefill":${list(b.prefill, prefillJson)},"tokens":${list(b.tokens, tokenJson)}`;
  if (b.topTokens.length > 0) s += `,"top_tokens":${list(b.topTokens, (row) => list(row, tokenJson))}`;
  return s + '}';
}

/** GenerateResponse: generated_text, then details (omitted when not requested). */
export function generateResponseJson(generatedText: string, details: ResponseDetails | null): string {
  let s = `{"generated_text":${JSON.stringify(generatedText)}`;
  if (details === null) return s + '}';
  s +=
    `,"details":{"finish_reason":"${details.finishReason}","generated_tokens":${details.generatedTokens},` +
    `"seed":${details.seed === null ? 'null' : details.seed.toString()},"prefill":${list(details.prefill, prefillJson)},` +
    `"tokens":${list(details.tokens, tokenJson)}`;
  if (details.bestOfSequences) s += `,"best_of_sequences":${list(details.bestOfSequences, bestOfJson)}`;
  if (details.topTokens.length > 0) s += `,"top_tokens":${list(details.topTokens, (row) => list(row, tokenJson))}`;
  return s + '}}';
}

// Decoding of one `data:` payload of an OpenAI-compatible chat stream — a ChatCompletionChunk
// (TGI ≥ 1.4 incl. v1.4–2.0's `object:"text_completion"`, vLLM, SGLang, llama.cpp), an error
// object, or `[DONE]` — into what the stream loop needs. Runs once per token: no closures.
import type { DoneEvent } from '../ports.ts';
import { openAiEventError, openAiProtocolError, readUpstreamError } from './errors.ts';

/** The `data` of the terminator event (TGI ≥ 2.2, vLLM, SGLang, llama.cpp, OpenAI). */
export const DONE_DATA = '[DONE]';

export interface ChunkInfo {
  /** choices[0].delta.content; '' when absent or null (role-only and final chunks). */
  content: string;
  /** The content is a special token's text: TGI ≤ 2.0 streamed the EOS token as text ("</s>")
   *  in its final chunk, with the raw finish_reason "eos_token". */
  special: boolean;
  /** choices[0].finish_reason, mapped; undefined while generating. */
  finish: DoneEvent['finish'] | undefined;
  /** usage.completion_tokens when the chunk carries usage (the stream_options.include_usage chunk,
   *  whose choices are []). */
  completionTokens: number | undefined;
}

interface Chunk {
  object?: unknown;
  choices?: unknown;
  usage?: { completion_tokens?: unknown } | null;
  error?: unknown;
}

interface Choice {
  delta?: { content?: unknown } | null;
  finish_reason?: unknown;
  /** vLLM: the stop string (or stop token id) that ended generation; null for EOS. */
  stop_reason?: unknown;
}

const NO_ERROR_DETAILS = { message: undefined, status: undefined, type: undefined };

/** 'stop' is EOS or a stop sequence on most servers; TGI says 'stop_sequence' itself and vLLM
 *  names the matched stop string in stop_reason. Anything unknown (tool_calls, content_filter,
 *  TGI ≤ 2.0's raw 'eos_token') reads as "the model stopped". */
function finishOf(reason: unknown, stopReason: unknown): DoneEvent['finish'] | undefined {
  if (reason === undefined || reason === null) return undefined;
  if (typeof reason !== 'string') throw openAiProtocolError('finish_reason is not a string');
  if (reason === 'length' || reason === 'stop_sequence') return reason;
  if (reason === 'stop' && typeof stopReason === 'string' && stopReason !== '') return 'stop_sequence';
  return 'eos_token';
}

/** Parses one payload (not `[DONE]`). Throws the mapped VlpError for an error object (`afterTokens`:
 *  content was streamed before it), UPSTREAM_PROTOCOL for anything else it cannot read (the parse
 *  error is not attached: it quotes the data). */
export function parseChunk(data: string, afterTokens: boolean): ChunkInfo {
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    throw openAiProtocolError('event data is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw openAiProtocolError('event is not a JSON object');
  const c = parsed as Chunk;
  if ((c.error !== undefined && c.error !== null) || c.object === 'error') {
    throw openAiEventError(readUpstreamError(c) ?? NO_ERROR_DETAILS, afterTokens);
  }
  const u = c.usage;
  const completionTokens = typeof u === 'object' && u !== null && typeof u.completion_tokens === 'number' ? u.completion_tokens : undefined;

  const choices = c.choices;
  if (choices === undefined || choices === null) return { content: '', special: false, finish: undefined, completionTokens };
  if (!Array.isArray(choices)) throw openAiProtocolError('choices is not an array');
  // We always ask for n = 1: the first choice is the only one.
  const choice: unknown = choices[0];
  if (choice === undefined) return { content: '', special: false, finish: undefined, completionTokens };
  if (typeof choice !== 'object' || choice === null) throw openAiProtocolError('choice is not an object');
  const ch = choice as Choice;
  const delta = ch.delta;
  if (delta !== undefined && delta !== null && typeof delta !== 'object') throw openAiProtocolError('delta is not an object');
  const raw = delta?.content;
  if (raw !== undefined && raw !== null && typeof raw !== 'string') throw openAiProtocolError('delta.content is not a string');
  const content = typeof raw === 'string' ? raw : '';
  return {
    content,
    special: ch.finish_reason === 'eos_token' && content !== '',
    finish: finishOf(ch.finish_reason, ch.stop_reason),
    completionTokens,
  };
}

/** Removes the longest stop sequence that `text` ends with, if any (TGI keeps a matched stop in
 *  the streamed text; vLLM, SGLang and llama.cpp drop it). */
export function withoutStopSuffix(text: string, stops: readonly string[]): string {
  let cut = 0;
  for (const s of stops) if (s.length > cut && text.endsWith(s)) cut = s.length;
  return cut === 0 ? text : text.slice(0, text.length - cut);
}

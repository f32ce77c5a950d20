// POST /v1/chat/completions request body (ChatRequest, router/src/lib.rs v3.3.7): decoding with
// serde's defaults and axum's rejection texts, message flattening (image parts become `![](url)`),
// and TGI's `try_into_generate` mapping to the GenerateParameters the generation machinery runs.
import { decodeJson, JsonDecodeError, type FieldSpec, type JsonValue, type Schema } from './json.ts';
import { GRAMMAR_SCHEMA, type GenerateParameters, type GrammarType } from './request.ts';
import type { TextMessage } from './chat-template.ts';

export interface ChatRequest {
  /** Absent or "tgi" = the served model; anything else is used as a LoRA adapter id. */
  model: string | null;
  messages: TextMessage[];
  frequencyPenalty: number | null;
  logprobs: boolean;
  topLogprobs: number | null;
  maxTokens: number | null;
  presencePenalty: number | null;
  stop: string[] | null;
  stream: boolean;
  seed: bigint | null;
  temperature: number | null;
  topP: number | null;
  /** A GrammarType; becomes the generation's `grammar`, as in TGI's `try_into_generate`. */
  responseFormat: GrammarType | null;
  includeUsage: boolean;
}

const opt = (inner: Schema): FieldSpec => ({ schema: { t: 'option', inner }, default: () => null });
const f32 = opt({ t: 'f32' });
const u32 = opt({ t: 'int', name: 'u32' });
const anyValue: FieldSpec = { schema: { t: 'any' }, default: () => null };

const STREAM_OPTIONS: Schema = {
  t: 'struct',
  name: 'StreamOptions',
  fields: { include_usage: { schema: { t: 'bool' }, default: () => false } },
};

const CHAT_REQUEST: Schema = {
  t: 'struct',
  name: 'ChatRequest',
  fields: {
    model: opt({ t: 'string' }),
    // Messages are checked after decoding (their body is an untagged enum).
    messages: { schema: { t: 'seq', inner: { t: 'any' } } },
    frequency_penalty: f32,
    logit_bias: opt({ t: 'any' }),
    logprobs: opt({ t: 'bool' }),
    top_logprobs: u32,
    max_tokens: u32,
    // serde alias of max_tokens (since v3.1).
    max_completion_tokens: u32,
    n: u32,
    presence_penalty: f32,
    stop: opt({ t: 'seq', inner: { t: 'string' } }),
    stream: { schema: { t: 'bool' }, default: () => false },
    seed: opt({ t: 'int', name: 'u64' }),
    temperature: f32,
    top_p: f32,
    tools: opt({ t: 'any' }),
    tool_prompt: opt({ t: 'string' }),
    tool_choice: anyValue,
    response_format: opt(GRAMMAR_SCHEMA),
    stream_options: { schema: STREAM_OPTIONS, default: () => ({ include_usage: false }) },
  },
};

const UNTAGGED = 'data did not match any variant of untagged enum MessageBody';

type JsonObject = { [key: string]: JsonValue };
const isObject = (v: JsonValue | undefined): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v) && typeof v !== 'bigint';

/** MessageContent: a string, or chunks `{type:"text",text}` / `{type:"image_url",image_url:{url}}`
 *  concatenated with no separator, images as `![](url)`. undefined when it fits neither. */
function flattenContent(content: JsonValue | undefined): string | undefined {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return undefined;
  let out = '';
  for (const part of content) {
    if (!isObject(part)) return undefined;
    if (part.type === 'text' && typeof part.text === 'string') out += part.text;
    else if (part.type === 'image_url' && isObject(part.image_url) && typeof part.image_url.url === 'string') {
      out += `![](${part.image_url.url})`;
    } else return undefined;
  }
  return out;
}

/** `Message` → `TextMessage`. Errors carry serde's text with the path (without line/column). */
function textMessage(m: JsonValue, i: number): TextMessage {
  const at = `messages[${i}]: `;
  if (!isObject(m)) throw new JsonDecodeError('data', `${at}invalid type: ${Array.isArray(m) ? 'sequence' : typeof m}, expected struct Message`);
  if (typeof m.role !== 'string') throw new JsonDecodeError('data', `${at}${m.role === undefined ? 'missing field `role`' : UNTAGGED}`);
  const content = flattenContent(m.content);
  if (content !== undefined) return { role: m.role, content };
  // MessageBody::Tool: the tool calls, serialized, stand in for the content.
  if ((m.content === undefined || m.content === null) && Array.isArray(m.tool_calls)) return { role: m.role, content: JSON.stringify(m.tool_calls) };
  throw new JsonDecodeError('data', `${at}${UNTAGGED}`);
}

/** Decodes a body; throws JsonDecodeError (400 syntax / 422 data, axum's texts). */
export function parseChatRequest(body: Buffer): ChatRequest {
  const raw = decodeJson(body, CHAT_REQUEST) as JsonObject;
  const num = (k: string): number | null => {
    const v = raw[k];
    return typeof v === 'number' ? v : null;
  };
  const messages = (raw.messages as JsonValue[]).map(textMessage);
  const seed = raw.seed;
  const options = raw.stream_options as JsonObject;
  return {
    model: typeof raw.model === 'string' ? raw.model : null,
    messages,
    frequencyPenalty: num('frequency_penalty'),
    logprobs: raw.logprobs === true,
    topLogprobs: num('top_logprobs'),
    maxTokens: num('max_tokens') ?? num('max_completion_tokens'),
    presencePenalty: num('presence_penalty'),
    stop: Array.isArray(raw.stop) ? (raw.stop as string[]) : null,
    stream: raw.stream === true,
    seed: typeof seed === 'bigint' ? seed : null,
    temperature: num('temperature'),
    topP: num('top_p'),
    responseFormat: (raw.response_format ?? null) as unknown as GrammarType | null,
    includeUsage: options.include_usage === true,
  };
}

/** `ChatRequest::try_into_generate`: presence_penalty → repetition_penalty = p + 2, temperature 0
 *  → greedy (anything else samples, even when absent), details on, no top_k / typical_p. */
export function toGenerateParameters(r: ChatRequest): GenerateParameters {
  const greedy = r.temperature === 0;
  return {
    best_of: null,
    temperature: greedy ? null : r.temperature,
    repetition_penalty: r.presencePenalty === null ? null : Math.fround(Math.fround(r.presencePenalty) + 2),
    frequency_penalty: r.frequencyPenalty,
    top_k: null,
    top_p: r.topP,
    typical_p: null,
    do_sample: !greedy,
    max_new_tokens: r.maxTokens,
    return_full_text: null,
    stop: r.stop ?? [],
    truncate: null,
    watermark: false,
    details: true,
    decoder_input_details: false,
    seed: r.seed,
    top_n_tokens: r.topLogprobs,
    grammar: r.responseFormat,
    adapter_id: r.model !== null && r.model !== 'tgi' ? r.model : null,
  };
}

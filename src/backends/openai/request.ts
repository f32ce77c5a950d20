// Builds the JSON body of a streaming POST /v1/chat/completions: the port's messages as OpenAI
// messages (images as image_url content parts) and the checked GenParams mapped onto the OpenAI
// schema. The server applies its own chat template, so no prompt is rendered here.
import { VlpError } from '../../../protocol/errors.ts';
import type { GenParams } from '../../../protocol/messages.ts';
import type { ChatMessage } from '../ports.ts';
import { defang } from '../prompt/defang.ts';

export type ContentPart = { type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string } };

export interface OpenAiMessage {
  role: ChatMessage['role'];
  content: string | ContentPart[];
}

/** TGI turns each image part into `![](url)` inside the prompt and fetches every `![](...)` its
 *  router regex finds there (backend-protocols §2.2-2.3): a URL must not contain `)`, whitespace or
 *  control characters, and message text must not smuggle its own `![` image references (SSRF). */
const SAFE_URL = /^(?:https?:\/\/|data:)[^\s)\p{Cc}]+$/iu;
const IMAGE_OPENER = /!\[/g;

function imagePart(url: string): ContentPart {
  if (!SAFE_URL.test(url)) {
    throw new VlpError(
      'INPUT_IMAGE_URL_FORBIDDEN',
      'image URL must be http(s) or data: and contain no ")", whitespace or control characters',
    );
  }
  return { type: 'image_url', image_url: { url } };
}

/** Messages in order. A user message with images becomes content parts, images first (the
 *  IDEFICS convention `User:![](img)question`), then the text. With `vision`, `![` in any text is
 *  defanged to `! [` so only real image parts reach TGI's image fetcher. */
export function openAiMessages(messages: readonly ChatMessage[], vision: boolean): OpenAiMessage[] {
  return messages.map((m) => {
    const text = vision ? defang(m.content, IMAGE_OPENER) : m.content;
    const images = m.images ?? [];
    if (images.length === 0) return { role: m.role, content: text };
    if (m.role !== 'user') throw new Error(`openai backend: images on a ${m.role} message`);
    return { role: m.role, content: [...images.map(imagePart), { type: 'text', text }] };
  });
}

/**
 * GenParams (TGI-native semantics) → OpenAI chat fields. Sent:
 * - max_new_tokens → `max_tokens` (every target accepts it; `max_completion_tokens` is newer).
 * - Decoding mode follows TGI's native rule: sampling iff do_sample or any of temperature, top_k,
 *   top_p, typical_p is set. Greedy → `temperature: 0`, which TGI ≥ 2.0.2, vLLM, SGLang and
 *   llama.cpp treat as greedy (TGI 1.4–2.0.1 reject 0 with a validation error; they cannot decode
 *   greedily on this route at all). Omitting it instead would silently sample at the server
 *   default (TGI's chat route sets do_sample unless temperature is 0). Sampling → `temperature`
 *   when given, else the server's default.
 * - top_p, seed, stop (as an array) as is.
 * - top_k: not an OpenAI field, but vLLM, SGLang and llama.cpp read it as an extension and TGI
 *   ignores unknown fields, so it is sent when set (TGI's chat route then samples without it).
 * Not sent: repetition_penalty (OpenAI's frequency/presence penalties are additive, not
 * multiplicative; TGI maps presence_penalty p to repetition_penalty p + 2, which vLLM would read
 * differently), typical_p, truncate, watermark, best_of, return_full_text, details,
 * decoder_input_details (no equivalent, or meaningless here).
 */
export function openAiParams(p: GenParams): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (p.max_new_tokens !== undefined) out.max_tokens = p.max_new_tokens;
  const sampling =
    p.do_sample === true || p.temperature !== undefined || p.top_k !== undefined || p.top_p !== undefined || p.typical_p !== undefined;
  if (!sampling) out.temperature = 0;
  else if (p.temperature !== undefined) out.temperature = p.temperature;
  if (p.top_p !== undefined) out.top_p = p.top_p;
  if (p.top_k !== undefined) out.top_k = p.top_k;
  if (p.stop !== undefined && p.stop.length > 0) out.stop = p.stop;
  if (p.seed !== undefined) out.seed = p.seed;
  return out;
}

export interface OpenAiRequest {
  /** JSON body for POST {base}/v1/chat/completions. */
  body: string;
  /** The stop sequences sent (to strip a matched one from the final text). */
  stop: readonly string[];
}

export function openAiRequest(model: string, messages: readonly ChatMessage[], p: GenParams, vision: boolean): OpenAiRequest {
  const body = {
    model,
    messages: openAiMessages(messages, vision),
    ...openAiParams(p),
    stream: true,
    // Usage chunk before [DONE] (TGI ≥ 2.3, vLLM, SGLang, llama.cpp); older servers ignore it.
    stream_options: { include_usage: true },
  };
  return { body: JSON.stringify(body), stop: p.stop ?? [] };
}

// Messages API wire serialisation (router/src/lib.rs, chat.rs at v3.3.7; v2.0.x for legacyFraming):
// ChatCompletionChunk events, the usage chunk, `[DONE]`, OpenAI-style error events, the
// non-streaming ChatCompletion and GET /v1/models, with serde's field order and explicit nulls.
import type { FinishReason, GenerationPlan, SimToken } from './generate.ts';
import { formatF32 } from './numfmt.ts';
import { errorJson, sseData } from './sse.ts';
import type { StreamWire } from './stream.ts';

export interface ChatWireOptions {
  /** `model` of every chunk: the request's model unless absent or "tgi", else the served model id. */
  model: string;
  /** `{version}-{docker_label}`. */
  fingerprint: string;
  /** The request asked for logprobs. */
  logprobs: boolean;
  /** stream_options.include_usage. */
  includeUsage: boolean;
  /** Emulate TGI v2.0.x (pre-v2.1 `data:` framing): object "text_completion", special tokens as
   *  text, raw finish reasons, native error events, no usage chunk and no `[DONE]`. */
  legacy: boolean;
}

const unixSeconds = (): number => Math.floor(Date.now() / 1000);

/** `FinishReason::format(true)`: only eos_token is renamed. */
export function chatFinishReason(f: FinishReason): string {
  return f === 'eos_token' ? 'stop' : f;
}

function topLogprobJson(t: SimToken): string {
  return `{"token":${JSON.stringify(t.text)},"logprob":${formatF32(t.logprob)}}`;
}

function logprobJson(t: SimToken, top: SimToken[] | undefined): string {
  return `{"token":${JSON.stringify(t.text)},"logprob":${formatF32(t.logprob)},"top_logprobs":[${(top ?? []).map(topLogprobJson).join(',')}]}`;
}

/** ChatCompletionLogprobs of one streamed token, or null when not requested. */
function chunkLogprobs(o: ChatWireOptions, t: SimToken, top: SimToken[] | undefined): string {
  return o.logprobs ? `{"content":[${logprobJson(t, top)}]}` : 'null';
}

function head(o: ChatWireOptions, created: number): string {
  const model = JSON.stringify(o.model);
  const fp = JSON.stringify(o.fingerprint);
  return o.legacy
    ? `{"id":"","object":"text_completion","created":${created},"model":${model},"system_fingerprint":${fp}`
    : `{"object":"chat.completion.chunk","id":"","created":${created},"model":${model},"system_fingerprint":${fp}`;
}

/** One ChatCompletionChunk with a single choice. */
export function chatChunkJson(o: ChatWireOptions, created: number, content: string, logprobs: string, finish: string | null): string {
  const choice =
    `{"index":0,"delta":{"role":"assistant","content":${JSON.stringify(content)}},"logprobs":${logprobs},` +
    `"finish_reason":${finish === null ? 'null' : JSON.stringify(finish)}}`;
  return `${head(o, created)},"choices":[${choice}]${o.legacy ? '' : ',"usage":null'}}`;
}

/** The extra chunk of stream_options.include_usage: no choices, the request's token counts. */
export function usageChunkJson(o: ChatWireOptions, created: number, promptTokens: number, completionTokens: number): string {
  const usage = `{"prompt_tokens":${promptTokens},"completion_tokens":${completionTokens},"total_tokens":${promptTokens + completionTokens}}`;
  return `${head(o, created)},"choices":[],"usage":${usage}}`;
}

/** `InferError::into_openai_event`: the status is 422 whatever the cause. */
export function chatErrorJson(message: string): string {
  return `{"error":{"message":${JSON.stringify(message)},"http_status_code":422}}`;
}

export const DONE = '[DONE]';

export function chatWire(o: ChatWireOptions): StreamWire {
  return {
    token: (_index, token, topTokens, final) => {
      const created = unixSeconds();
      // v3: a special token (EOS, <end_of_utterance>) streams as content ""; v2.0 sent its text.
      const content = token.special && !o.legacy ? '' : token.text;
      const finish = final === null ? null : o.legacy ? final.finishReason : chatFinishReason(final.finishReason);
      let out = sseData(chatChunkJson(o, created, content, chunkLogprobs(o, token, topTokens), finish), o.legacy);
      if (final === null || o.legacy) return out;
      if (o.includeUsage) out += sseData(usageChunkJson(o, created, final.inputLength, final.generatedTokens), false);
      return out + sseData(DONE, false);
    },
    error: (message, errorType) =>
      o.legacy
        ? sseData(errorJson(message, errorType), true)
        : sseData(chatErrorJson(message), false) + sseData(DONE, false),
  };
}

/** The non-streaming `chat.completion` (v3.3.7 shape whatever the framing option). */
export function chatCompletionJson(o: ChatWireOptions, plan: GenerationPlan, promptTokens: number): string {
  const n = plan.tokens.length;
  const logprobs = o.logprobs
    ? `{"content":[${plan.tokens.map((t, i) => logprobJson(t, plan.topTokens?.[i])).join(',')}]}`
    : 'null';
  const message = `{"role":"assistant","content":${JSON.stringify(plan.generatedText)}}`;
  return (
    `{"object":"chat.completion","id":"","created":${unixSeconds()},"model":${JSON.stringify(o.model)},` +
    `"system_fingerprint":${JSON.stringify(o.fingerprint)},"choices":[{"index":0,"message":${message},` +
    `"logprobs":${logprobs},"finish_reason":"${chatFinishReason(plan.finishReason)}"}],` +
    `"usage":{"prompt_tokens":${promptTokens},"completion_tokens":${n},"total_tokens":${promptTokens + n}}}`
  );
}

/** GET /v1/models: the served model, `created: 0`, owned by itself (`openai_get_model_info`). */
export function modelsJson(modelId: string): string {
  const id = JSON.stringify(modelId);
  return `{"object":"list","data":[{"id":${id},"object":"model","created":0,"owned_by":${id}}]}`;
}

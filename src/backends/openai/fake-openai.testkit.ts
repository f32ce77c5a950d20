// Test-only builders of OpenAI-compatible stream bytes (TGI Messages API v3.3.7 and v2.0 shapes,
// vLLM's extras), used with the scripted HTTP server of ../tgi/fake-tgi.testkit.ts.

/** A TGI v3.3.7 chat.completion.chunk (backend-protocols §2.2), field order as TGI writes it. */
export function chunk(content: string, finish: string | null = null): object {
  return {
    object: 'chat.completion.chunk', id: '', created: 1706270978, model: 'meta-llama/Llama-2-7b-chat-hf',
    system_fingerprint: '3.3.7-native',
    choices: [{ index: 0, delta: { role: 'assistant', content }, logprobs: null, finish_reason: finish }],
    usage: null,
  };
}

/** TGI v1.4–v2.0: object "text_completion", no usage field. */
export function legacyChunk(content: string, finish: string | null = null): object {
  return {
    id: '', object: 'text_completion', created: 1706270978, model: 'tgi', system_fingerprint: '2.0.0-native',
    choices: [{ index: 0, delta: { role: 'assistant', content }, logprobs: null, finish_reason: finish }],
  };
}

/** The stream_options.include_usage chunk. */
export function usageChunk(prompt: number, completion: number): object {
  return {
    object: 'chat.completion.chunk', id: '', created: 1706270978, model: 'meta-llama/Llama-2-7b-chat-hf',
    system_fingerprint: '3.3.7-native', choices: [],
    usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion },
  };
}

/** A vLLM chunk (delta without role after the first, `stop_reason` beside finish_reason). */
export function vllmChunk(delta: Record<string, unknown>, finish: string | null = null, stopReason: string | number | null = null): object {
  return {
    id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'llama',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish, stop_reason: stopReason }],
  };
}

/** SSE bytes: objects as JSON, strings (e.g. "[DONE]") verbatim, each as one `data` event. */
export function sse(events: readonly (object | string)[], framing: 'tight' | 'spaced' = 'spaced'): Buffer {
  const prefix = framing === 'tight' ? 'data:' : 'data: ';
  return Buffer.from(events.map((e) => `${prefix}${typeof e === 'string' ? e : JSON.stringify(e)}\n\n`).join(''), 'utf8');
}

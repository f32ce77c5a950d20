// A LangChain chat model over our generation port (TextGenBackend), so LangChain chains (prompt
// templates, output parsers) run against whatever model the registry configured — TGI, the
// Messages API or SageMaker — with the adapters' timeouts, retries and cancellation intact.
//
// - Messages: LangChain messages become our ChatMessage[] (system / user / assistant); the port
//   renders the model's own prompt template (Llama-2 [INST], IDEFICS, ChatML), so nothing here
//   formats a prompt string.
// - Streaming: _streamResponseChunks yields one chunk per visible upstream token; special tokens
//   (</s>, <end_of_utterance>) are dropped; the last chunk carries the finish reason.
// - Cancellation: LangChain's `signal` call option (and `timeout`, which LangChain turns into a
//   signal) is linked to the request's signal, and leaving the stream early aborts it too, so the
//   upstream HTTP request is closed either way.
// - Parameters: the HuggingFaceTextGenInference-style fields (maxNewTokens, topK, …) and raw
//   GenParams map onto the port's GenParams; call options `params` and `stop` override per call.
// - Bounds: the registry's backends hold every stream to the token cap (backends/token-cap.ts), so
//   a backend that ignores max_new_tokens ends after it with finish_reason 'length' (and the text
//   is the chunks'); a backend given here from elsewhere is used as it is.
import { SimpleChatModel } from '@langchain/core/language_models/chat_models';
import type { BaseChatModelCallOptions, BaseChatModelParams } from '@langchain/core/language_models/chat_models';
import type { CallbackManagerForLLMRun } from '@langchain/core/callbacks/manager';
import { AIMessageChunk, ChatMessage as LcChatMessage } from '@langchain/core/messages';
import type { BaseMessage } from '@langchain/core/messages';
import { ChatGenerationChunk } from '@langchain/core/outputs';
import type { GenParams } from '../../protocol/messages.ts';
import { mergeParams } from '../backends/params.ts';
import type { ChatMessage, DoneEvent, TextGenBackend } from '../backends/ports.ts';

/** Constructor fields: the backend plus default generation parameters. */
export interface TextGenChatModelFields extends BaseChatModelParams {
  backend: TextGenBackend;
  /** Raw parameters, applied first; the named fields below win over them. */
  params?: GenParams;
  maxNewTokens?: number;
  temperature?: number;
  topK?: number;
  topP?: number;
  typicalP?: number;
  repetitionPenalty?: number;
  /** Stop sequences (TGI's `stop`). */
  stopSequences?: string[];
  seed?: number;
  doSample?: boolean;
  truncate?: number;
}

export interface TextGenChatModelCallOptions extends BaseChatModelCallOptions {
  /** Per-call parameters, layered over the model's. */
  params?: GenParams;
}

/** response_metadata of the final chunk. */
export interface TextGenFinishMetadata {
  finish_reason: DoneEvent['finish'];
  /** Tokens generated upstream (special tokens included). */
  generated_tokens: number;
  /** The id of the backend that served the request. */
  backend: string;
}

export class TextGenChatModel extends SimpleChatModel<TextGenChatModelCallOptions> {
  static override lc_name(): string {
    return 'TextGenChatModel';
  }

  override lc_serializable = false;

  readonly backend: TextGenBackend;
  /** Default parameters of every call (the fields above, folded into GenParams). */
  readonly params: GenParams;

  constructor(fields: TextGenChatModelFields) {
    const { backend, params, maxNewTokens, temperature, topK, topP, typicalP, repetitionPenalty, stopSequences, seed, doSample, truncate, ...base } = fields;
    super(base);
    this.backend = backend;
    const named: GenParams = {
      max_new_tokens: maxNewTokens,
      temperature,
      top_k: topK,
      top_p: topP,
      typical_p: typicalP,
      repetition_penalty: repetitionPenalty,
      stop: stopSequences,
      seed,
      do_sample: doSample,
      truncate,
    };
    this.params = mergeParams(params, named);
  }

  override get callKeys(): string[] {
    return [...super.callKeys, 'params'];
  }

  _llmType(): string {
    return 'vlp-textgen';
  }

  /** Parameters of one call: model defaults < call `params` < call `stop`. */
  paramsFor(options: this['ParsedCallOptions']): GenParams {
    return mergeParams(this.params, options.params, options.stop !== undefined && options.stop.length > 0 ? { stop: options.stop } : undefined);
  }

  override async *_streamResponseChunks(
    messages: BaseMessage[],
    options: this['ParsedCallOptions'],
    runManager?: CallbackManagerForLLMRun,
  ): AsyncGenerator<ChatGenerationChunk> {
    const request = toPortMessages(messages);
    const outer = options.signal;
    // The port needs a signal of its own: linked to the caller's, and aborted whenever we leave
    // before the final event (a consumer that stops early), which closes the upstream request.
    const ac = new AbortController();
    const onAbort = (): void => ac.abort(outer?.reason);
    if (outer !== undefined) {
      if (outer.aborted) ac.abort(outer.reason);
      else outer.addEventListener('abort', onAbort, { once: true });
    }
    let finished = false;
    try {
      for await (const ev of this.backend.generate({ messages: request, params: this.paramsFor(options), signal: ac.signal })) {
        if (ev.kind === 'token') {
          if (ev.special || ev.text === '') continue;
          yield new ChatGenerationChunk({ text: ev.text, message: new AIMessageChunk({ content: ev.text }) });
          await runManager?.handleLLMNewToken(ev.text);
        } else {
          finished = true;
          const meta: TextGenFinishMetadata = { finish_reason: ev.finish, generated_tokens: ev.tokens, backend: this.backend.id };
          yield new ChatGenerationChunk({
            text: '',
            message: new AIMessageChunk({ content: '', response_metadata: { ...meta } }),
            generationInfo: { ...meta },
          });
        }
      }
    } finally {
      outer?.removeEventListener('abort', onAbort);
      if (!finished && !ac.signal.aborted) ac.abort(new Error('the stream was closed before the final event'));
    }
  }

  async _call(messages: BaseMessage[], options: this['ParsedCallOptions'], runManager?: CallbackManagerForLLMRun): Promise<string> {
    let text = '';
    for await (const chunk of this._streamResponseChunks(messages, options, runManager)) text += chunk.text;
    return text;
  }
}

/**
 * LangChain messages → the port's ChatMessage[]: an optional system message first, then strictly
 * alternating user / assistant turns ending with a user turn (what the port requires). Consecutive
 * messages of one role are merged (text joined by a blank line, images kept in order); several
 * leading system messages become one. Throws TypeError on what the port cannot carry: tool or
 * function messages, a system message after the dialog started, non-text non-image content, or
 * a dialog that does not start and end with a user turn.
 */
export function toPortMessages(messages: readonly BaseMessage[]): ChatMessage[] {
  const out: ChatMessage[] = [];
  for (const m of messages) {
    const role = roleOf(m);
    const { text, images } = contentOf(m, role);
    const last = out.at(-1);
    if (role === 'system' && out.some((x) => x.role !== 'system')) {
      throw new TypeError('a system message may only come before the dialog');
    }
    if (last !== undefined && last.role === role) {
      last.content = last.content === '' ? text : text === '' ? last.content : `${last.content}\n\n${text}`;
      if (images.length > 0) last.images = [...(last.images ?? []), ...images];
      continue;
    }
    out.push(images.length > 0 ? { role, content: text, images } : { role, content: text });
  }
  const dialog = out[0]?.role === 'system' ? out.slice(1) : out;
  if (dialog.length === 0 || dialog[0]?.role !== 'user') throw new TypeError('the dialog must start with a user message');
  if (dialog.at(-1)?.role !== 'user') throw new TypeError('the dialog must end with a user message');
  return out;
}

function roleOf(m: BaseMessage): ChatMessage['role'] {
  const type = m.type;
  if (type === 'human') return 'user';
  if (type === 'ai') return 'assistant';
  if (type === 'system') return 'system';
  if (type === 'generic' && LcChatMessage.isInstance(m)) {
    if (m.role === 'user' || m.role === 'human') return 'user';
    if (m.role === 'assistant' || m.role === 'ai') return 'assistant';
    if (m.role === 'system') return 'system';
  }
  throw new TypeError(`messages of type ${type} cannot be sent to a text generation backend`);
}

function contentOf(m: BaseMessage, role: ChatMessage['role']): { text: string; images: string[] } {
  if (typeof m.content === 'string') return { text: m.content, images: [] };
  const parts: string[] = [];
  const images: string[] = [];
  for (const block of m.contentBlocks) {
    if (block.type === 'text') {
      parts.push(block.text);
    } else if (block.type === 'image' && role === 'user') {
      if (typeof block.url === 'string') images.push(block.url);
      else if (block.data !== undefined && typeof block.mimeType === 'string') {
        const b64 = typeof block.data === 'string' ? block.data : Buffer.from(block.data).toString('base64');
        images.push(`data:${block.mimeType};base64,${b64}`);
      } else throw new TypeError('an image must be given by URL or base64 data with a MIME type');
    } else {
      throw new TypeError(`content blocks of type ${block.type} are not supported in ${role} messages`);
    }
  }
  return { text: parts.join(''), images };
}

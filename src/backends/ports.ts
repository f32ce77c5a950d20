// Backend ports: what the session needs from a model service, independent of any vendor.
// Adapters live in one folder per vendor and map vendor wire formats and errors here.
import type { GenParams } from '../../protocol/messages.ts';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
  /** Images attached to a user message (data URI or http(s) URL), for vision models. */
  images?: string[];
}

export interface TextGenCapabilities {
  /** Accepts images in user messages. */
  vision: boolean;
  /** Streams tokens as they are produced (false = one final event). */
  streaming: boolean;
}

export interface TextGenRequest {
  /** Optional system message first, then strictly alternating user/assistant, ending with user. */
  messages: ChatMessage[];
  /** Range-checked parameters (see backends/params.ts). */
  params: GenParams;
  /** Aborting it must close the upstream request (TGI then drops it from its batch). */
  signal: AbortSignal;
  /** Called each time a routing layer retries this request (another replica or a fallback). */
  onRetry?: (info: { code: string; attempt: number; backend: string }) => void;
}

export interface TokenEvent {
  kind: 'token';
  /** Upstream token id (-1 when the backend does not say). */
  id: number;
  text: string;
  /** Special tokens (</s>, <end_of_utterance>) are reported but never shown to users. */
  special: boolean;
  /** performance.now() when the bytes carrying this token were read from the upstream socket
   *  (for the gateway's token relay-time metric); absent when the adapter cannot tell. */
  recvAt?: number;
}

export interface DoneEvent {
  kind: 'done';
  finish: 'length' | 'eos_token' | 'stop_sequence';
  /** Authoritative full text from the backend. */
  generatedText: string;
  /** Tokens generated upstream. */
  tokens: number;
  /** Set only by the gateway's token cap (backends/token-cap.ts) when it cut the stream: the
   *  backend streamed past the request's max_new_tokens (or the gateway ceiling), its request was
   *  closed, `finish` is 'length', `tokens` the cap and `generatedText` '' — the answer's text is
   *  the token events', and it is not known to be whole. */
  capped?: true;
}

export type GenEvent = TokenEvent | DoneEvent;

export interface TextGenBackend {
  /** Stable id for logs/metrics (e.g. "tgi:http://127.0.0.1:3000"). Never branch on it. */
  readonly id: string;
  readonly capabilities: TextGenCapabilities;
  /** Stream one generation. Ends after exactly one DoneEvent. Throws VlpError (UPSTREAM_* codes)
   *  on failure, or an AbortError-like error when `signal` aborted. Breaking out of the iteration
   *  early must also close the upstream request. */
  generate(req: TextGenRequest): AsyncIterable<GenEvent>;
  /** Cheap liveness probe (e.g. TGI GET /health); used by circuit breakers and /readyz. */
  probe(timeoutMs: number): Promise<boolean>;
  /** Release pooled connections. */
  close(): Promise<void>;
}

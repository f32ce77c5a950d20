// Public surface of the OpenAI-compatible chat-completions adapter (the composition root imports
// from here): TGI's Messages API, vLLM, SGLang and llama.cpp server.
export { createOpenAiBackend } from './backend.ts';
export type { OpenAiBackendOptions } from './backend.ts';

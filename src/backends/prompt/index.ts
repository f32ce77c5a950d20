// Prompt template dispatch: renders a dialog in the named template and lists the stop sequences
// that template needs upstream. Adding a template means one file plus two switch arms here.
import type { ChatMessage } from '../ports.ts';
import { CHATML_STOP, renderChatml } from './chatml.ts';
import { IDEFICS_STOP, renderIdefics } from './idefics.ts';
import { renderLlama2Chat } from './llama2.ts';

export type PromptTemplate = 'llama2-chat' | 'idefics' | 'chatml';

export const PROMPT_TEMPLATES: readonly PromptTemplate[] = ['llama2-chat', 'idefics', 'chatml'];

export interface RenderOptions {
  /** llama2-chat only: emit the leading `<s>` (false for TGI's native API, which adds BOS). */
  bos?: boolean;
  /** idefics only: example exchanges placed after the system prompt. */
  fewShot?: ChatMessage[];
}

export function renderPrompt(template: PromptTemplate, messages: ChatMessage[], opts: RenderOptions = {}): string {
  switch (template) {
    case 'llama2-chat':
      return renderLlama2Chat(messages, { bos: opts.bos ?? false });
    case 'idefics':
      return renderIdefics(messages, opts.fewShot === undefined ? {} : { fewShot: opts.fewShot });
    case 'chatml':
      return renderChatml(messages);
    default:
      return unreachable(template);
  }
}

/** Stop sequences the template needs (Llama-2 stops on its EOS token, so none). A fresh array. */
export function stopSequencesFor(template: PromptTemplate): string[] {
  switch (template) {
    case 'llama2-chat':
      return [];
    case 'idefics':
      return [...IDEFICS_STOP];
    case 'chatml':
      return [...CHATML_STOP];
    default:
      return unreachable(template);
  }
}

/** Whether the template can carry images in user messages. */
export function templateSupportsImages(template: PromptTemplate): boolean {
  return template !== 'llama2-chat';
}

function unreachable(x: never): never {
  throw new Error(`unknown prompt template: ${String(x)}`);
}

// ChatML prompt rendering (`<|im_start|>role\ncontent<|im_end|>\n ... <|im_start|>assistant\n`),
// the format of Qwen, Hermes and other fine-tunes; images inline as `![](url)` like TGI's chat route.
import type { ChatMessage } from '../ports.ts';
import { defang } from './defang.ts';
import { splitDialog } from './dialog.ts';
import { imageMarkdown } from './images.ts';

/** `<|im_start|>`, `<|im_end|>`, `<|endoftext|>` and any other `<|name|>` special token, plus `![`
 *  (an image reference TGI would fetch; only `images` may produce one). */
const MARKERS = /<\|[^|<>\s]{1,64}\|>|!\[/g;

export const CHATML_STOP: readonly string[] = ['<|im_end|>'];

function block(role: string, content: string): string {
  return `<|im_start|>${role}\n${content}<|im_end|>\n`;
}

/** Renders the dialog and opens the assistant turn. Contents are not trimmed (the reference
 *  ChatML templates keep them verbatim); control markers are defanged in every content. */
export function renderChatml(messages: ChatMessage[]): string {
  const { system, turns } = splitDialog(messages);
  let out = system === undefined ? '' : block('system', defang(system, MARKERS));
  for (const m of turns) {
    const images = m.role === 'user' ? imageMarkdown(m.images) : '';
    out += block(m.role, images + defang(m.content, MARKERS));
  }
  return `${out}<|im_start|>assistant\n`;
}

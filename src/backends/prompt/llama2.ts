// Llama-2-chat prompt rendering (Meta's llama/generation.py `chat_completion`, backend-protocols
// §3.1): `<s>[INST] <<SYS>>\n{sys}\n<</SYS>>\n\n{u1} [/INST] {a1} </s><s>[INST] {u2} [/INST]`.
import type { ChatMessage } from '../ports.ts';
import { defang } from './defang.ts';
import { assertNoImages, splitDialog } from './dialog.ts';

/** Llama-2 control markers, matched case-insensitively (a model reads `[inst]` much like `[INST]`). */
const MARKERS = /\[\/?INST\]|<<\/?SYS>>|<\/?s>/gi;

function clean(text: string): string {
  return defang(text.trim(), MARKERS);
}

export interface Llama2Options {
  /** Emit the very first `<s>`. Default false: TGI's native API adds BOS itself
   *  (add_special_tokens=true), so a literal one would risk a double BOS. Inner `</s><s>` stay. */
  bos?: boolean;
}

/** Renders a dialog (system?, user, assistant, ..., user) for Llama-2-chat. Contents are trimmed
 *  like Meta's `.strip()`; the system prompt is trimmed too and omitted when empty. Every content,
 *  the system prompt included (clients may set it), has its control markers defanged. */
export function renderLlama2Chat(messages: ChatMessage[], opts: Llama2Options = {}): string {
  const { system, turns } = splitDialog(messages);
  assertNoImages(turns, 'llama2-chat');
  const sys = system === undefined ? '' : clean(system);
  let out = '';
  for (let i = 0; i < turns.length; i += 2) {
    let user = clean(turns[i]?.content ?? '');
    if (i === 0 && sys !== '') user = `<<SYS>>\n${sys}\n<</SYS>>\n\n${user}`;
    const answer = turns[i + 1];
    out += answer === undefined
      ? `<s>[INST] ${user} [/INST]`
      : `<s>[INST] ${user} [/INST] ${clean(answer.content)} </s>`;
  }
  return opts.bos === true ? out : out.slice('<s>'.length);
}

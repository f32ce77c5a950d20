// IDEFICS(-9b-instruct) prompt rendering for TGI's native API (backend-protocols §3.2):
// `{system}\nUser:![](url)question<end_of_utterance>\nAssistant: answer<end_of_utterance>\n...Assistant:`.
import type { ChatMessage } from '../ports.ts';
import { defang } from './defang.ts';
import { checkAlternating, splitDialog } from './dialog.ts';
import { imageMarkdown } from './images.ts';

/** `<end_of_utterance>` is not IDEFICS' EOS token, so generation must stop on it explicitly; the
 *  model also tends to continue with a new `\nUser:` turn. */
export const IDEFICS_STOP: readonly string[] = ['<end_of_utterance>', '\nUser:'];

/** Special tokens, plus `![` so message text cannot smuggle an image reference that TGI would
 *  fetch (an SSRF vector) — only `images` become `![](url)`. */
const MARKERS = /<\/?s>|<unk>|<image>|<fake_token_around_image>|<end_of_utterance>|!\[/gi;
/** A line that starts like a turn header would forge a turn: `\nUser:` → `\nUser :`. */
const TURN_HEADER = /\n(User|Assistant):/g;

function clean(text: string): string {
  return defang(text.trim(), MARKERS).replace(TURN_HEADER, '\n$1 :');
}

export interface IdeficsOptions {
  /** Example exchanges (user, assistant, ...), placed after the system prompt. Server config. */
  fewShot?: ChatMessage[];
}

function renderTurn(m: ChatMessage): string {
  return m.role === 'user'
    ? `User:${imageMarkdown(m.images)}${clean(m.content)}<end_of_utterance>\n`
    : `Assistant: ${clean(m.content)}<end_of_utterance>\n`;
}

/** Renders few-shot examples then the dialog, ending with `Assistant:` for the model to continue.
 *  The system prompt is the leading text, on its own line before the first `User:`. */
export function renderIdefics(messages: ChatMessage[], opts: IdeficsOptions = {}): string {
  const { system, turns } = splitDialog(messages);
  const fewShot = opts.fewShot ?? [];
  checkAlternating(fewShot, 'assistant', 'idefics few-shot');
  const sys = system === undefined ? '' : clean(system);
  let out = sys === '' ? '' : `${sys}\n`;
  for (const m of fewShot) out += renderTurn(m);
  for (const m of turns) out += renderTurn(m);
  return `${out}Assistant:`;
}

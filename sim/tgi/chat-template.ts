// The chat templates the simulated TGI applies on POST /v1/chat/completions: Llama-2-chat's
// tokenizer_config template (llm) and an IDEFICS-style one (vlm), plus TGI's post-processing
// (router/src/infer/chat_template.rs: a final assistant message is continued, not closed).

/** A message after TGI's `From<Message> for TextMessage`: image parts already `![](url)`. */
export interface TextMessage {
  role: string;
  content: string;
}

/** A template failure; `message` is minijinja's Display (TGI prefixes "Template error: "). */
export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

const BOS = '<s>';
const EOS = '</s>';
/** raise_exception() raises ErrorKind::SyntaxError; templates are named "<string>", on line 1. */
const ALTERNATE = 'syntax error: Conversation roles must alternate user/assistant/user/assistant/... (in <string>:1)';
/** `messages[0]['role']` on an empty list: attribute access on undefined. */
const NO_MESSAGES = 'undefined value (in <string>:1)';

/** Python/minijinja `str.strip()` (Unicode White_Space). */
const strip = (s: string): string => s.trim();

/**
 * meta-llama/Llama-2-7b-chat-hf's chat_template, rule for rule: an optional leading system message
 * is merged into the first user message inside `<<SYS>>`, roles must then alternate starting with
 * user, each user turn opens with BOS, each answer closes with EOS, no generation prompt.
 */
export function llama2ChatTemplate(messages: readonly TextMessage[]): string {
  const first = messages[0];
  if (first === undefined) throw new TemplateError(NO_MESSAGES);
  const system = first.role === 'system' ? first.content : undefined;
  const loop = system === undefined ? messages : messages.slice(1);
  let out = '';
  loop.forEach((m, i) => {
    if ((m.role === 'user') !== (i % 2 === 0)) throw new TemplateError(ALTERNATE);
    const content = i === 0 && system !== undefined ? `<<SYS>>\n${system}\n<</SYS>>\n\n${m.content}` : m.content;
    if (m.role === 'user') out += `${BOS}[INST] ${strip(content)} [/INST]`;
    else if (m.role === 'assistant') out += ` ${strip(content)} ${EOS}`;
  });
  return out;
}

/** Python's str.capitalize(). */
function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1).toLowerCase();
}

/**
 * IDEFICS-style (the shape of Idefics2's chat_template; whether IDEFICS-9b-instruct ships one is
 * unverified): `{Role}:{content}<end_of_utterance>\n` per message, no space after the colon when
 * the content starts with an image, then the generation prompt `Assistant:`.
 */
export function ideficsChatTemplate(messages: readonly TextMessage[]): string {
  let out = '';
  for (const m of messages) {
    const sep = m.content.startsWith('![](') ? ':' : ': ';
    out += `${capitalize(m.role)}${sep}${m.content}<end_of_utterance>\n`;
  }
  return `${out}Assistant:`;
}

/** `ChatTemplate::apply`: render, then when the last message is the assistant's, cut the prompt
 *  right after its content so the model continues that message. */
export function applyChatTemplate(kind: 'llm' | 'vlm', messages: readonly TextMessage[]): string {
  const rendered = kind === 'vlm' ? ideficsChatTemplate(messages) : llama2ChatTemplate(messages);
  const last = messages.at(-1);
  if (last?.role !== 'assistant') return rendered;
  const at = rendered.lastIndexOf(last.content);
  return at < 0 ? rendered : rendered.slice(0, at + last.content.length).trimEnd();
}

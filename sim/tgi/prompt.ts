// Reads the prompt formats the gateway sends (backend-protocols.md §3): Llama-2-chat
// `[INST] <<SYS>>..<</SYS>> user [/INST] answer </s><s>[INST] user [/INST]` and IDEFICS
// `User:![](img)question<end_of_utterance>\nAssistant:`, to find the last user message.
import { IMAGE_RE } from './tokenize.ts';

export interface PromptView {
  format: 'llama2' | 'idefics' | 'raw';
  /** Text of the last user message, images and system block removed, trimmed. */
  lastUser: string;
  /** Raw last user segment (images and directives kept) — where fault directives are looked for. */
  lastUserRaw: string;
  /** System prompt (Llama-2 `<<SYS>>` block), if any. */
  system?: string;
  /** Images in the last user message. */
  images: number;
  /** Completed user turns before the last one. */
  history: number;
}

const SYS_RE = /<<SYS>>\n?([\s\S]*?)\n?<<\/SYS>>\n*/;

function countImages(text: string): number {
  return text.includes('![](') ? (text.match(IMAGE_RE)?.length ?? 0) : 0;
}

function llama2(inputs: string): PromptView | undefined {
  const open = inputs.lastIndexOf('[INST]');
  if (open < 0) return undefined;
  const close = inputs.indexOf('[/INST]', open);
  const raw = inputs.slice(open + '[INST]'.length, close < 0 ? undefined : close);
  const sys = SYS_RE.exec(raw);
  const user = sys ? raw.replace(SYS_RE, '') : raw;
  const anySys = sys ?? SYS_RE.exec(inputs);
  const view: PromptView = {
    format: 'llama2',
    lastUser: user.replace(IMAGE_RE, ' ').trim(),
    lastUserRaw: raw,
    images: countImages(raw),
    history: inputs.split('[INST]').length - 2,
  };
  if (anySys?.[1] !== undefined) view.system = anySys[1].trim();
  return view;
}

function idefics(inputs: string): PromptView | undefined {
  const open = inputs.lastIndexOf('User:');
  if (open < 0 || !(inputs.includes('<end_of_utterance>') || inputs.includes('Assistant:'))) return undefined;
  const end = inputs.indexOf('<end_of_utterance>', open);
  const raw = inputs.slice(open + 'User:'.length, end < 0 ? undefined : end);
  return {
    format: 'idefics',
    lastUser: raw.replace(IMAGE_RE, ' ').trim(),
    lastUserRaw: raw,
    images: countImages(raw),
    history: inputs.split('User:').length - 2,
  };
}

/** Best-effort view of a prompt; unknown formats use the whole input as the user message. */
export function parsePrompt(inputs: string): PromptView {
  return (
    llama2(inputs) ??
    idefics(inputs) ?? {
      format: 'raw',
      lastUser: inputs.replace(IMAGE_RE, ' ').trim(),
      lastUserRaw: inputs,
      images: countImages(inputs),
      history: 0,
    }
  );
}

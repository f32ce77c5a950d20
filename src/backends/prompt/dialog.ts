// Shape check shared by the prompt templates: an optional system message, then strictly
// alternating user/assistant messages ending with a user message.
import type { ChatMessage } from '../ports.ts';

export interface Dialog {
  /** The system message's content, or undefined when there is none. */
  system: string | undefined;
  /** The remaining messages: user, assistant, user, ..., user. */
  turns: ChatMessage[];
}

/** Splits off the system message and checks the ordering. A violation is a programming error in
 *  the caller (the session builds the history), so it throws a plain Error, not a VlpError. */
export function splitDialog(messages: readonly ChatMessage[]): Dialog {
  const first = messages[0];
  const hasSystem = first !== undefined && first.role === 'system';
  const turns = hasSystem ? messages.slice(1) : messages.slice();
  if (turns.length === 0) throw new Error('prompt: at least one user message is required');
  checkAlternating(turns, 'user', 'prompt');
  return { system: hasSystem ? first.content : undefined, turns };
}

/** Checks `user, assistant, user, ...` ending with `last` (few-shot examples end with assistant). */
export function checkAlternating(turns: readonly ChatMessage[], last: 'user' | 'assistant', what: string): void {
  for (let i = 0; i < turns.length; i++) {
    const want = i % 2 === 0 ? 'user' : 'assistant';
    const role = turns[i]?.role;
    if (role !== want) throw new Error(`${what}: message ${i} has role ${String(role)}, expected ${want}`);
  }
  if (turns.length > 0 && turns[turns.length - 1]?.role !== last) {
    throw new Error(`${what}: the last message must have role ${last}`);
  }
}

/** Text-only templates call this: images cannot be expressed, and dropping them silently would
 *  answer a different question. The session checks `capabilities.vision` before calling. */
export function assertNoImages(turns: readonly ChatMessage[], template: string): void {
  for (const m of turns) {
    if (m.images !== undefined && m.images.length > 0) throw new Error(`prompt: ${template} cannot carry images`);
  }
}

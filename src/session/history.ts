// Per-session dialogue history: completed user/assistant exchanges, newest kept, bounded by
// total characters so a long conversation cannot grow memory or the prompt without limit.
import type { ChatMessage } from '../backends/ports.ts';

interface Exchange {
  user: string;
  assistant: string;
}

export class DialogueHistory {
  private exchanges: Exchange[] = [];
  private chars = 0;

  constructor(private readonly maxChars: number) {}

  get size(): number {
    return this.exchanges.length;
  }

  add(user: string, assistant: string): void {
    if (this.maxChars === 0) return;
    this.exchanges.push({ user, assistant });
    this.chars += user.length + assistant.length;
    while (this.chars > this.maxChars && this.exchanges.length > 0) {
      const old = this.exchanges.shift() as Exchange;
      this.chars -= old.user.length + old.assistant.length;
    }
  }

  /** System prompt, the kept exchanges, then the new user message. */
  messagesFor(system: string, user: string): ChatMessage[] {
    const out: ChatMessage[] = [];
    if (system.length > 0) out.push({ role: 'system', content: system });
    for (const e of this.exchanges) {
      out.push({ role: 'user', content: e.user }, { role: 'assistant', content: e.assistant });
    }
    out.push({ role: 'user', content: user });
    return out;
  }

  clear(): void {
    this.exchanges = [];
    this.chars = 0;
  }
}

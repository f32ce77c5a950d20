// Per-session dialogue history: completed user/assistant exchanges, newest kept, bounded by
// total characters so a long conversation cannot grow memory or the prompt without limit.
import type { ChatMessage } from '../backends/ports.ts';

/** One kept exchange; add() returns it so that its answer can be rewritten later (rewrite()). */
export interface Exchange {
  user: string;
  assistant: string;
}

export class DialogueHistory {
  private exchanges: Exchange[] = [];
  private chars = 0;
  private changes = 0;

  constructor(private readonly maxChars: number) {}

  get size(): number {
    return this.exchanges.length;
  }

  /** Changes with every add, rewrite and clear: a prompt built at one version is stale at another
   *  (speculation.ts compares them; the size alone misses a rewrite, or an add that evicted one). */
  get version(): number {
    return this.changes;
  }

  /** Keeps the exchange (the oldest ones go past maxChars); undefined when history is off. */
  add(user: string, assistant: string): Exchange | undefined {
    if (this.maxChars === 0) return undefined;
    const e: Exchange = { user, assistant };
    this.changes++;
    this.exchanges.push(e);
    this.chars += user.length + assistant.length;
    this.trim();
    return e;
  }

  /** Replaces a kept exchange's answer (playback.truncate); nothing when it is no longer kept. */
  rewrite(e: Exchange, assistant: string): void {
    if (!this.exchanges.includes(e)) return;
    this.changes++;
    this.chars += assistant.length - e.assistant.length;
    e.assistant = assistant;
    this.trim();
  }

  private trim(): void {
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
    this.changes++;
    this.exchanges = [];
    this.chars = 0;
  }
}

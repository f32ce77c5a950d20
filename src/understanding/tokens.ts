// Turns a (partial) transcript into lemmas, reusing the previous call's tokens when the text only
// grew (ASR partials), so only the new words are looked up.
import { lemmaOf } from './nlp.ts';

interface Token {
  start: number;
  lemmas: readonly string[];
}

const WORD = /[a-z0-9]+(?:['’][a-z]+)?/g;
const IS_CONTRACTED = new Set(['what', 'it', 'that', 'there', 'where', 'who', 'how', 'here', 'he', 'she', 'this']);

function lemmasOf(raw: string): readonly string[] {
  const word = raw.replace('’', "'");
  const q = word.indexOf("'");
  if (q < 0) return [lemmaOf(word)];
  const base = word.slice(0, q);
  const suffix = word.slice(q + 1);
  if (suffix === 't' && base.endsWith('n')) {
    const stem = base === 'won' ? 'will' : base === 'can' ? 'can' : base.slice(0, -1);
    return [lemmaOf(stem), 'not'];
  }
  if (suffix === 's') return IS_CONTRACTED.has(base) ? [lemmaOf(base), 'is'] : [lemmaOf(base)];
  const expanded: Record<string, string> = { re: 'is', m: 'is', ll: 'will', ve: 'have', d: 'would' };
  const tail = expanded[suffix];
  return tail === undefined ? [lemmaOf(base)] : [lemmaOf(base), tail];
}

/** Incremental lemmatizer: keep one per stream of partials. */
export class Lemmatizer {
  private lastText = '';
  private lastTokens: Token[] = [];

  lemmas(text: string): string[] {
    const lower = text.toLowerCase();
    let tokens: Token[] = [];
    let from = 0;
    if (this.lastTokens.length > 0 && lower.startsWith(this.lastText)) {
      // The last word may have been partial: re-scan from its start.
      tokens = this.lastTokens.slice(0, -1);
      from = this.lastTokens[this.lastTokens.length - 1]!.start;
    }
    WORD.lastIndex = from;
    for (let m = WORD.exec(lower); m !== null; m = WORD.exec(lower)) {
      tokens.push({ start: m.index, lemmas: lemmasOf(m[0]) });
    }
    this.lastText = lower;
    this.lastTokens = tokens;
    const out: string[] = [];
    for (const t of tokens) out.push(...t.lemmas);
    return out;
  }
}

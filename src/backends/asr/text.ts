// Transcript text helpers shared by the adapters: whitespace normalisation, word tokens (a CJK
// character is a word of its own), joining Whisper's segment texts, and local agreement (stable
// words = what two successive hypotheses agree on).
//
// Partial convention (port: stable + unstable is the whole text): when both parts are non-empty
// and the language separates words with spaces, `unstable` starts with the separating space.

/** Collapses whitespace runs to one space and trims. */
export function tidy(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** Concatenates Whisper segment texts (they carry their own leading space in space-separated
 *  languages and none in CJK) and tidies the result. */
export function joinSegments(texts: readonly string[]): string {
  return tidy(texts.join(''));
}

const UNSPACED = '\\p{Script=Han}\\p{Script=Hiragana}\\p{Script=Katakana}\\p{Script=Hangul}\\p{Script=Thai}\\p{Script=Lao}\\p{Script=Khmer}\\p{Script=Myanmar}';
/** One token with the whitespace before it: a single unspaced-script character, or a run of
 *  anything else up to whitespace or such a character. */
const TOKEN = new RegExp(`\\s*(?:[${UNSPACED}]|[^\\s${UNSPACED}]+)`, 'gu');

const ENDS_UNSPACED = new RegExp(`[${UNSPACED}\\u3000-\\u303f\\uff00-\\uffef]$`, 'u');
const STARTS_UNSPACED = new RegExp(`^[${UNSPACED}\\u3000-\\u303f\\uff00-\\uffef\\p{P}]`, 'u');
const STARTS_CJK_PUNCT = /^[\u3000-\u303f\uff00-\uffef]/u;

/** `b` as it continues `a`: with a separating space unless both sides are unspaced script (CJK,
 *  Thai, …) or `b` starts with CJK punctuation. Empty `a` or `b`: `b` as is. */
export function glue(a: string, b: string): string {
  if (a === '' || b === '') return b;
  if ((ENDS_UNSPACED.test(a) && STARTS_UNSPACED.test(b)) || STARTS_CJK_PUNCT.test(b)) return b;
  return ` ${b}`;
}

/** Tokens of a tidied text, each with its leading space (if any). Joining them gives the text. */
export function tokens(text: string): string[] {
  return tidy(text).match(TOKEN) ?? [];
}

/** Joins tokens (as returned by tokens()) without a leading space. */
export function joinTokens(toks: readonly string[]): string {
  return toks.join('').trimStart();
}

/** Word identity for agreement: case and punctuation do not count ("Hello," = "hello"). */
export function normToken(w: string): string {
  return w.trim().toLowerCase().replace(/[\p{P}\p{S}]/gu, '');
}

/** Length of the common prefix of `a` and `b` (normalised tokens), checked from index `from`. */
export function commonPrefix(a: readonly string[], b: readonly string[], from = 0): number {
  let i = from;
  while (i < a.length && i < b.length && normToken(a[i] as string) === normToken(b[i] as string)) i++;
  return i;
}

/** stable + unstable for a token list of which the first `k` are stable. */
export function splitAt(toks: readonly string[], k: number): { stable: string; unstable: string } {
  const stable = joinTokens(toks.slice(0, k));
  const rest = toks.slice(k).join('');
  return { stable, unstable: stable === '' ? rest.trimStart() : rest };
}

/**
 * Local agreement over successive re-transcriptions of one utterance (whisper_streaming's
 * LocalAgreement-2): a word becomes stable once two successive hypotheses agree on it and on
 * every word before it. Stable words never change afterwards (a later hypothesis that disagrees
 * only changes the unstable tail), as the port promises.
 */
export class LocalAgreement {
  private committed: string[] = [];
  private prev: string[] | undefined;

  /** Feeds one hypothesis; returns the partial to report. */
  update(text: string): { stable: string; unstable: string } {
    const hyp = tokens(text);
    const n = this.committed.length;
    // New words are committed only while the hypothesis still agrees with the committed ones.
    if (this.prev !== undefined && commonPrefix(this.committed, hyp) === n) {
      const agreed = commonPrefix(this.prev, hyp, n);
      for (let i = n; i < agreed; i++) this.committed.push(hyp[i] as string);
    }
    this.prev = hyp;
    const stable = joinTokens(this.committed);
    const rest = hyp.slice(this.committed.length).join('');
    return { stable, unstable: stable === '' ? rest.trimStart() : rest };
  }

  reset(): void {
    this.committed = [];
    this.prev = undefined;
  }
}

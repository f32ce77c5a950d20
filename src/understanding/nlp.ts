// Minimal typed view of the parts of `compromise` we use, plus a cached single-word lemmatizer
// (lower-case, verbs to infinitive, plurals to singular) so each distinct word is parsed once.
// The cache is process-wide and fed user text: it is bounded in bytes and holds only short copies.
import nlp from 'compromise';

export interface NlpTerm {
  normal: string;
  root?: string | null;
  tags: string[];
}
interface NlpDoc {
  compute(method: 'root'): NlpDoc;
  json(): { terms: NlpTerm[] }[];
}
const parseDoc = nlp as unknown as (text: string) => NlpDoc;

/** Parse a sentence into terms with roots and tags (a few hundred µs: callers cache). */
export function parseTerms(text: string): NlpTerm[] {
  const out: NlpTerm[] = [];
  for (const sentence of parseDoc(text).compute('root').json()) out.push(...sentence.terms);
  return out;
}

/** Words whose lemma is fixed: function words (skip compromise) and irregulars it gets wrong. */
const FIXED: Record<string, string> = {
  a: 'a', an: 'an', the: 'the', this: 'this', that: 'that', these: 'this', those: 'that', it: 'it', its: 'it',
  is: 'is', are: 'is', was: 'is', were: 'is', be: 'is', been: 'is', am: 'is', do: 'do', does: 'do', did: 'do',
  i: 'i', me: 'me', my: 'my', you: 'you', your: 'your', we: 'we', us: 'us', our: 'our', he: 'he', she: 'she',
  his: 'his', her: 'her', they: 'they', them: 'them', their: 'their', of: 'of', in: 'in', on: 'on', at: 'at',
  to: 'to', into: 'into', from: 'from', with: 'with', and: 'and', or: 'or', for: 'for', by: 'by', out: 'out',
  what: 'what', where: 'where', which: 'which', who: 'who', how: 'how', why: 'why', when: 'when',
  can: 'can', could: 'can', would: 'would', will: 'will', should: 'should', please: 'please',
  there: 'there', here: 'here', all: 'all', any: 'any', some: 'some', every: 'every', many: 'many',
  drew: 'draw', drawn: 'draw', found: 'find', colour: 'color', colours: 'color', coloured: 'color',
  grey: 'gray', painting: 'painting', paintings: 'painting', drawing: 'drawing', drawings: 'drawing',
  people: 'person', boxes: 'box', upscaled: 'upscale', upscaling: 'upscale', upscales: 'upscale',
  segmentation: 'segmentation', sharper: 'sharp', clearer: 'clear', bigger: 'big', higher: 'high',
  better: 'good', picture: 'picture', pictures: 'picture', pic: 'picture', pics: 'picture',
  photo: 'photo', photos: 'photo', image: 'image', images: 'image', glasses: 'glass', lights: 'light',
  leaves: 'leaf', masks: 'mask', masking: 'mask', masked: 'mask', outlines: 'outline',
};

/** Longest word lemmatized. A longer "word" (no word in use is; a user can send one of 16K
 *  characters) is returned as it is, neither parsed nor cached: no rule names so long a word, in any
 *  inflection, and caching it kept the whole word (up to a whole message) in the cache. */
export const MAX_LEMMA_WORD = 32;

/** A fresh, flat copy of `s`. A substring of 13 or more characters (a regexp match, a slice) may be a
 *  V8 sliced string that keeps its whole parent alive — here the user's full message. Decoding bytes
 *  always allocates a new sequential string; UTF-16 keeps every code unit, lone surrogates included.
 *  (`(' ' + s).slice(1)` is no copy: it may slice the concatenation, which holds `s`.) */
export function flatCopy(s: string): string {
  return Buffer.from(s, 'utf16le').toString('utf16le');
}

/** Word → lemma, least recently used first (Map insertion order), bounded in entries and in the
 *  characters of its keys and values, so its memory stays around a couple of MB whatever it is fed. */
export class LemmaCache {
  private readonly map = new Map<string, string>();
  private size = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxChars: number,
  ) {}

  get(word: string): string | undefined {
    const hit = this.map.get(word);
    if (hit !== undefined) {
      this.map.delete(word);
      this.map.set(word, hit);
    }
    return hit;
  }

  /** Stores `lemma` for `word`; the caller passes strings that own their characters (flatCopy). */
  set(word: string, lemma: string): void {
    const old = this.map.get(word);
    if (old !== undefined) {
      this.map.delete(word);
      this.size -= word.length + old.length;
    }
    const cost = word.length + lemma.length;
    if (cost > this.maxChars) return;
    while (this.map.size > 0 && (this.map.size >= this.maxEntries || this.size + cost > this.maxChars)) {
      const [oldestWord, oldestLemma] = this.map.entries().next().value as [string, string];
      this.map.delete(oldestWord);
      this.size -= oldestWord.length + oldestLemma.length;
    }
    this.map.set(word, lemma);
    this.size += cost;
  }

  stats(): { entries: number; chars: number } {
    return { entries: this.map.size, chars: this.size };
  }
}

/** ≤ 20,000 words and ≤ 512K characters of words and lemmas: ≤ ~2 MB with V8's per-string and
 *  per-entry overhead (~100 bytes an entry measured); 20,000 typical words fit in the characters. */
export const LEMMA_CACHE_MAX_ENTRIES = 20_000;
export const LEMMA_CACHE_MAX_CHARS = 512 * 1024;
const cache = new LemmaCache(LEMMA_CACHE_MAX_ENTRIES, LEMMA_CACHE_MAX_CHARS);

/** Entries and characters held by the process-wide lemma cache (for tests and diagnostics). */
export function lemmaCacheStats(): { entries: number; chars: number } {
  return cache.stats();
}

/** Lemma of one lower-case word; cached, so a word costs a compromise parse only the first time. */
export function lemmaOf(word: string): string {
  if (word.length > MAX_LEMMA_WORD) return word;
  // Own keys only: "constructor" or "__proto__" must not read Object.prototype.
  const fixed = Object.hasOwn(FIXED, word) ? FIXED[word] : undefined;
  if (fixed !== undefined) return fixed;
  if (word.length <= 2 || /\d/.test(word)) return word;
  const hit = cache.get(word);
  if (hit !== undefined) return hit;
  // Parse a copy, so neither the cached key nor the lemma (compromise may return slices of its
  // input) points into the message the word was cut from. Costs far less than the parse.
  const own = flatCopy(word);
  const terms = parseTerms(own);
  const lemma = terms.map((t) => t.root ?? t.normal).join(' ').replace(/[^a-z0-9 ]/g, '') || own;
  cache.set(own, lemma);
  return lemma;
}

// Object noun phrases (1–3 words) to ground with Grounding DINO, in the spirit of the seed's KeyBERT
// step: drop task words, determiners and pronouns, keep adjectives + nouns, rank VLM-named objects first
// (phrases whose head noun the VLM's description of the image also names, plural-insensitive).
import { flatCopy, lemmaOf, parseTerms, type NlpTerm } from './nlp.ts';

export interface KeywordOptions {
  /** Phrases named by the VLM's description of the image; matching head nouns rank first. */
  preferred?: string[];
  /** The VLM's description of the image, as text: phrases whose head noun it names (any
   *  inflection: "dogs" names "dog") rank first, those whose other words it names too ahead of
   *  the rest. */
  prefer?: string;
  /** Most phrases returned (default 5). */
  max?: number;
}

/** The seed's stopwords (first word of a KeyBERT phrase) plus task words, pronouns and places. */
const STOP = new Set([
  'mask', 'create', 'generate', 'image', 'cut', 'edge', 'picture', 'photo', 'segment', 'new', 'her', 'his', 'my', 'the', 'that', 'this',
  'a', 'an', 'these', 'those', 'it', 'its', 'me', 'you', 'your', 'them', 'they', 'their', 'i', 'we', 'us', 'our', 'him', 'she', 'he',
  'there', 'here', 'what', 'which', 'where', 'how', 'who', 'please', 'all', 'every', 'each', 'many', 'much', 'few', 'several',
  'some', 'any', 'other', 'another', 'only', 'just', 'same', 'both',
  'outline', 'detect', 'detection', 'find', 'locate', 'highlight', 'box', 'boxes', 'bounding', 'count', 'show', 'select', 'isolate',
  'extract', 'remove', 'erase', 'upscale', 'segmentation', 'photograph', 'pic', 'screenshot', 'scene', 'frame', 'shot', 'masks',
  'object', 'objects', 'thing', 'things', 'stuff', 'one', 'ones', 'everything', 'something', 'anything', 'part', 'piece', 'area',
  'region', 'shape', 'contour', 'silhouette', 'instance', 'pixel', 'pixels', 'level', 'trace', 'mark', 'tag', 'label', 'spot',
  'matte', 'alpha', 'channel', 'binary', 'left', 'right', 'top', 'bottom', 'middle', 'center', 'centre', 'front', 'back', 'side',
  'corner', 'background', 'foreground', 'next', 'near', 'behind', 'number', 'lot', 'lots', 'kind', 'type', 'sort', 'version',
  'around', 'out', 'view', 'camera', 'pictures', 'photos', 'images', 'visible', 'whole', 'entire', 'draw', 'drawing',
]);
const BREAK_TAGS = ['Determiner', 'Pronoun', 'Preposition', 'Conjunction', 'QuestionWord', 'Value', 'Adverb', 'Copula', 'Modal', 'Auxiliary', 'Possessive'];

const MAX_CACHE = 128;
/** Longest text whose parse is cached: a parse holds ~100 bytes per character of text, so 128 of
 *  these stay under ~7 MB (a 16K-character text parses to ~1.5 MB). Longer texts are parsed anew. */
export const MAX_CACHED_TEXT = 512;
/** Longest part of a text parsed: a long text's first MAX_PARSED characters, cut at whitespace (a
 *  parse blocks the event loop in proportion to the text, ~100 ms for 16K characters; the objects to
 *  ground are named early in a request, and callers keep 3). Shorter texts are parsed whole. */
export const MAX_PARSED = 2_000;
const parsed = new Map<string, NlpTerm[]>();

/** Entries and characters of text held by the parse cache (for tests and diagnostics). */
export function keywordCacheStats(): { entries: number; chars: number } {
  let chars = 0;
  for (const text of parsed.keys()) chars += text.length;
  return { entries: parsed.size, chars };
}

/** The part of `text` parsed: all of it, or its first MAX_PARSED characters without a cut word
 *  (a hard cut only when that prefix holds no whitespace, never splitting a surrogate pair). */
function parsedPart(text: string): string {
  if (text.length <= MAX_PARSED) return text;
  let cut = MAX_PARSED;
  while (cut > 0 && !/\s/.test(text.charAt(cut))) cut--;
  if (cut === 0) {
    cut = MAX_PARSED;
    const last = text.charCodeAt(cut - 1);
    if (last >= 0xd800 && last <= 0xdbff) cut--;
  }
  return text.slice(0, cut);
}

function termsOf(text: string): NlpTerm[] {
  if (text.length > MAX_CACHED_TEXT) return parseTerms(parsedPart(text).toLowerCase());
  const hit = parsed.get(text);
  if (hit !== undefined) return hit;
  // Key and parse a copy: `text` may be a slice that keeps a larger string alive (see flatCopy).
  const own = flatCopy(text);
  const terms = parseTerms(own.toLowerCase());
  if (parsed.size >= MAX_CACHE) parsed.delete(parsed.keys().next().value as string);
  parsed.set(own, terms);
  return terms;
}

const word = (t: NlpTerm): string => t.normal.replace(/[^a-z0-9-]/g, '');

/** Noun-like: tagged a noun, or a plural compromise took for a present-tense verb ("lights"). */
function isNounish(t: NlpTerm, prev: boolean): boolean {
  if (t.tags.includes('Noun')) return true;
  return prev && t.tags.includes('PresentTense') && !t.tags.includes('Infinitive') && word(t).endsWith('s');
}

function isContent(t: NlpTerm, prev: boolean): boolean {
  const w = word(t);
  if (w.length < 2 || STOP.has(w) || STOP.has(t.root ?? '')) return false;
  if (BREAK_TAGS.some((tag) => t.tags.includes(tag))) return false;
  if (t.tags.includes('Verb')) return isNounish(t, prev);
  return t.tags.includes('Adjective') || t.tags.includes('Noun');
}

function phrasesOf(terms: NlpTerm[]): string[] {
  const out: string[] = [];
  let run: NlpTerm[] = [];
  const flush = (): void => {
    // Keep the run up to its last noun, at most 3 words ending in it (the head).
    let last = -1;
    run.forEach((t, i) => { if (isNounish(t, i > 0)) last = i; });
    if (last >= 0) {
      const kept = run.slice(Math.max(0, last - 2), last + 1);
      const head = kept[kept.length - 1]!;
      const headWord = head.tags.includes('Plural') || !head.tags.includes('Noun') ? lemmaOf(word(head)) : word(head);
      out.push([...kept.slice(0, -1).map(word), headWord].join(' '));
    }
    run = [];
  };
  for (const t of terms) {
    if (isContent(t, run.length > 0)) run.push(t);
    else flush();
  }
  flush();
  return out;
}

const headOf = (phrase: string): string => lemmaOf(phrase.trim().toLowerCase().split(/\s+/).pop() ?? '');

const described = new Map<string, ReadonlySet<string>>();

/** The words of a description, lower-cased (cached: a session asks about one image many times).
 *  No lemmatizer runs on it — a description is long and new per image; namedBy matches inflected
 *  forms of the candidate's lemma instead. */
function wordsOf(description: string): ReadonlySet<string> {
  const hit = described.get(description);
  if (hit !== undefined) return hit;
  const words = new Set(description.toLowerCase().match(/[a-z0-9]+(?:-[a-z0-9]+)*/g) ?? []);
  if (described.size >= MAX_CACHE) described.delete(described.keys().next().value as string);
  described.set(description, words);
  return words;
}

/** Irregular plurals of nouns a user may ground (compromise lemmatizes the user's side). */
const IRREGULAR_PLURAL: Readonly<Record<string, string>> = {
  person: 'people', man: 'men', woman: 'women', child: 'children', mouse: 'mice', foot: 'feet',
  tooth: 'teeth', goose: 'geese', ox: 'oxen', cactus: 'cacti', fish: 'fish', sheep: 'sheep', deer: 'deer',
};

/** Whether the description names `lemma` (a singular noun or other word) in some inflection. */
function namedBy(words: ReadonlySet<string>, lemma: string): boolean {
  if (lemma === '') return false;
  const forms = [lemma, `${lemma}s`, `${lemma}es`];
  if (lemma.endsWith('y')) forms.push(`${lemma.slice(0, -1)}ies`);
  if (lemma.endsWith('f')) forms.push(`${lemma.slice(0, -1)}ves`);
  if (lemma.endsWith('fe')) forms.push(`${lemma.slice(0, -2)}ves`);
  const irregular = IRREGULAR_PLURAL[lemma];
  if (irregular !== undefined) forms.push(irregular);
  return forms.some((f) => words.has(f));
}

/** Object phrases to ground, most relevant first, deduplicated. */
export function extractKeywords(text: string, opts: KeywordOptions = {}): string[] {
  const max = opts.max ?? 5;
  const unique = [...new Set(phrasesOf(termsOf(text)))];
  const preferredHeads = new Set((opts.preferred ?? []).map(headOf));
  const description = opts.prefer === undefined || opts.prefer.trim() === '' ? undefined : wordsOf(opts.prefer);
  // 0 = not named; 1 = head named; +1 per other word the description names too.
  const rank = (phrase: string): number => {
    const head = headOf(phrase);
    let r = preferredHeads.has(head) ? 1 : 0;
    if (description !== undefined && namedBy(description, head)) {
      r = 1;
      for (const w of phrase.split(' ').slice(0, -1)) if (namedBy(description, w)) r++;
    }
    return r;
  };
  const ranked = unique.map((phrase, i) => ({ phrase, i, r: rank(phrase) }));
  ranked.sort((a, b) => b.r - a.r || a.i - b.i);
  return ranked.slice(0, max).map((x) => x.phrase);
}

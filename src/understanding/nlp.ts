// Minimal typed view of the parts of `compromise` we use, plus a cached single-word lemmatizer
// (lower-case, verbs to infinitive, plurals to singular) so each distinct word is parsed once.
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

const MAX_CACHE = 20_000;
const cache = new Map<string, string>();

/** Lemma of one lower-case word; cached, so a word costs a compromise parse only the first time. */
export function lemmaOf(word: string): string {
  const fixed = FIXED[word];
  if (fixed !== undefined) return fixed;
  if (word.length <= 2 || /\d/.test(word)) return word;
  const hit = cache.get(word);
  if (hit !== undefined) return hit;
  const terms = parseTerms(word);
  const lemma = terms.map((t) => t.root ?? t.normal).join(' ').replace(/[^a-z0-9 ]/g, '') || word;
  if (cache.size >= MAX_CACHE) cache.clear();
  cache.set(word, lemma);
  return lemma;
}

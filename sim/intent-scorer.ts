// A deterministic stand-in for an NLI model's sense of "does this text fit this label", shared by
// the simulated zero-shot classifier and the TGI simulator's grammar-constrained answers. Cue words
// and phrases of the text and of each candidate (a label description such as "find, locate, count
// or box objects in the image", or a bare label) are mapped to a small set of task concepts; a
// candidate scores the text's evidence for the concepts its own words name. It knows nothing of
// the gateway's labels (the simulator never imports src/): candidates are arbitrary text.

export type Concept =
  | 'locate'
  | 'cutout'
  | 'mask'
  | 'remove'
  | 'sharpen'
  | 'restyle'
  | 'generate'
  | 'question'
  | 'caption'
  | 'dialogue';

/** Concept, weight, cue phrases (`*` stands for up to four words). */
const CUES: readonly [Concept, number, readonly string[]][] = [
  ['locate', 3, ['detect', 'detection', 'count', 'how many']],
  ['locate', 2.5, ['box', 'bounding', 'locate']],
  ['locate', 2, ['find', 'where', 'look for', 'highlight', 'point out', 'number of']],
  ['locate', 1.5, ['spot', 'search', 'circle', 'mark', 'identify', 'show me all', 'show me every']],
  ['cutout', 3, ['segment', 'segmentation', 'cut out']],
  ['cutout', 2.8, ['cut * out']],
  ['cutout', 2.5, ['outline', 'isolate', 'extract', 'crop out', 'silhouette']],
  ['cutout', 2, ['trace', 'contour', 'separate']],
  ['cutout', 1, ['pixel']],
  ['mask', 3.6, ['mask']],
  ['mask', 2.4, ['matte', 'stencil']],
  ['mask', 1.5, ['alpha', 'binary']],
  ['remove', 3, ['erase', 'inpaint']],
  ['remove', 2.6, ['remove', 'delete', 'get rid']],
  ['remove', 2.2, ['take out', 'replace', 'swap']],
  ['remove', 2, ['fill in', 'clean up']],
  ['remove', 1.5, ['watermark', 'blemish', 'scratch']],
  ['sharpen', 3.5, ['upscale']],
  ['sharpen', 3, ['sharpen', 'resolution']],
  ['sharpen', 2.5, ['sharp', 'enhance', 'blurry', 'pixelated', 'hd', '4k', 'enlarge']],
  ['sharpen', 1.5, ['quality']],
  ['sharpen', 1, ['raise']],
  ['restyle', 3, ['restyle']],
  ['restyle', 2.5, ['transform', 'turn * into', 'variation', 'repaint']],
  ['restyle', 2.2, ['style', 'convert', 'look like', 'look more like']],
  ['restyle', 2, ['redo', 'cartoon', 'anime', 'watercolor']],
  ['restyle', 1.5, ['painting', 'van gogh', 'monet', 'pixar']],
  ['restyle', 1, ['sketch', 'superhero', 'poster']],
  ['generate', 2.5, ['generate']],
  ['generate', 2.2, ['draw', 'paint']],
  ['generate', 2, ['create', 'render', 'illustration']],
  ['generate', 1.8, ['sketch']],
  ['generate', 1.5, ['logo', 'picture of', 'image of', 'photo of']],
  ['generate', 1, ['new']],
  ['generate', 0.5, ['prompt']],
  ['question', 2.5, ['describe', 'tell me about']],
  ['question', 2, ['what', 'who', 'why', 'explain', 'do you see', 'question']],
  ['question', 1.5, ['which', 'happening', 'breed', 'answer']],
  ['question', 1, ['how', 'see', 'color', 'kind', 'say']],
  ['caption', 4, ['caption', 'alt text']],
  ['caption', 3, ['one sentence']],
  ['caption', 2.5, ['title']],
  ['caption', 1.5, ['instagram']],
  ['dialogue', 2, ['hello', 'joke', 'thank', 'recommend', 'poem', 'translate', 'dialogue', 'chat']],
  ['dialogue', 1.5, ['love', 'feel', 'weather', 'cook', 'restaurant']],
  ['dialogue', 1, ['plain']],
];

const IRREGULAR: Readonly<Record<string, string>> = {
  people: 'person', colour: 'color', colours: 'color', coloured: 'color', thanks: 'thank', sharper: 'sharp',
  leaves: 'leaf', drew: 'draw', drawn: 'draw', found: 'find',
};

/** A crude suffix stripper: "segmenting" → "segment", "boxes" → "box", "outlined" → "outlin". */
export function stem(word: string): string {
  const irregular = IRREGULAR[word];
  if (irregular !== undefined) return irregular;
  let s = word;
  if (s.length > 4 && s.endsWith('ies')) s = `${s.slice(0, -3)}y`;
  else if (s.length > 4 && /(?:ss|x|ch|sh)es$/.test(s)) s = s.slice(0, -2);
  else if (s.length > 3 && s.endsWith('s') && !s.endsWith('ss') && !s.endsWith('us')) s = s.slice(0, -1);
  if (s.length > 5 && s.endsWith('ing')) s = s.slice(0, -3);
  else if (s.length > 4 && s.endsWith('ed')) s = s.slice(0, -2);
  if (s.length > 3 && /([^aeiouls])\1$/.test(s)) s = s.slice(0, -1);
  if (s.length > 3 && s.endsWith('e')) s = s.slice(0, -1);
  return s;
}

/** Lower-case word stems of a text ("4k" and "hd" survive; punctuation splits words). */
export function stems(text: string): string[] {
  return (text.toLowerCase().match(/[a-z0-9]+/g) ?? []).map(stem);
}

interface CompiledCue {
  concept: Concept;
  weight: number;
  /** Stemmed words; '*' = up to four arbitrary words. */
  words: string[];
}

const COMPILED: readonly CompiledCue[] = CUES.flatMap(([concept, weight, phrases]) =>
  phrases.map((p) => ({ concept, weight, words: p.split(' ').map((w) => (w === '*' ? w : stem(w))) })),
);

function matchesAt(tokens: readonly string[], at: number, words: readonly string[]): boolean {
  let i = at;
  for (let k = 0; k < words.length; k++) {
    const w = words[k] as string;
    if (w === '*') {
      const next = words[k + 1];
      if (next === undefined) return true;
      for (let gap = 1; gap <= 4 && i + gap < tokens.length; gap++) {
        if (matchesAt(tokens, i + gap, words.slice(k + 1))) return true;
      }
      return false;
    }
    if (tokens[i] !== w) return false;
    i++;
  }
  return true;
}

const QUESTION_START = new Set(['what', 'where', 'which', 'who', 'how', 'why', 'when', 'is', 'are', 'do', 'does', 'can', 'could', 'would', 'will', 'whose']);
/** Evidence a text gets for 'question' from its form (a leading question word or a final '?'). */
const QUESTION_FORM = 1.5;
/** Evidence per concept is capped (a text repeating one cue is not surer each time). */
const CAP = 6;

/** Per-concept evidence found in a text: the best-weighted cue of each distinct phrase, summed. */
export function evidence(text: string): Map<Concept, number> {
  const tokens = stems(text);
  const out = new Map<Concept, number>();
  for (const cue of COMPILED) {
    for (let i = 0; i < tokens.length; i++) {
      if (!matchesAt(tokens, i, cue.words)) continue;
      out.set(cue.concept, Math.min(CAP, (out.get(cue.concept) ?? 0) + cue.weight));
      break;
    }
  }
  const first = /^[a-z]+/.exec(text.trimStart().toLowerCase())?.[0] ?? '';
  if (text.trimEnd().endsWith('?') || QUESTION_START.has(first)) {
    out.set('question', Math.min(CAP, (out.get('question') ?? 0) + QUESTION_FORM));
  }
  return out;
}

/** The concepts a candidate label names (its description's cue words). */
export function conceptsOf(candidate: string): Set<Concept> {
  const found = new Set<Concept>();
  const tokens = stems(candidate.replace(/_/g, ' '));
  for (const cue of COMPILED) {
    for (let i = 0; i < tokens.length; i++) {
      if (matchesAt(tokens, i, cue.words)) {
        found.add(cue.concept);
        break;
      }
    }
  }
  return found;
}

export interface ScoreOptions {
  /** Prior evidence for candidates about plain dialogue (an NLI model's default leaning). */
  dialoguePrior?: number;
}

/** Raw evidence per candidate (same order): the text's evidence for the candidate's concepts. */
export function scoreCandidates(text: string, candidates: readonly string[], opts: ScoreOptions = {}): number[] {
  const ev = evidence(text);
  const prior = opts.dialoguePrior ?? 1;
  return candidates.map((c) => {
    const concepts = conceptsOf(c);
    let s = 0;
    for (const concept of concepts) s += ev.get(concept) ?? 0;
    if (concepts.has('dialogue')) s += prior;
    return Math.min(CAP, s);
  });
}

/** softmax(k · x). */
export function softmax(xs: readonly number[], k: number): number[] {
  if (xs.length === 0) return [];
  const max = Math.max(...xs);
  const exps = xs.map((x) => Math.exp(k * (x - max)));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}

// Echo guard (options.echo_guard, SPEC.md "Barge-in"): a device that plays the answers aloud feeds
// them back into its own microphone, and the gateway would take the assistant's voice for the
// user's — cancelling the answer (barge-in) and answering its own words. Acoustic echo
// cancellation removes most of it on the device; what gets through is recognised as words the
// gateway itself just sent. The guard compares a transcript with the assistant's recent answer
// text: when the transcript's words are (almost all) a stretch of that text, it is echo.
//
// The comparison is a local alignment (Smith-Waterman over words: match +2, mismatch or gap −1) of
// the transcript against each answer text, so a few misrecognised words still match, while common
// words scattered over a long answer do not add up. Bounded: at most MAX_UTTERANCE_WORDS of the
// transcript and MAX_ANSWER_WORDS of each answer (two rows of typed arrays per call).

export type EchoVerdict = 'echo' | 'user' | 'unsure';

export interface EchoGuardConfig {
  /** Fewer transcript words than this are never called echo, only 'unsure' (or 'user'). */
  minWords: number;
  /** Share of the transcript's words the best alignment must match to be echo (0..1). */
  coverage: number;
}

const MAX_UTTERANCE_WORDS = 64;
const MAX_ANSWER_WORDS = 1024;
const MATCH = 2;
const PENALTY = 1;

/** Han, Hiragana, Katakana, Hangul: scripts written without spaces; each character is a word. */
const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;
const CJK_G = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/gu;

/** Lower-case words without punctuation; characters of CJK scripts count as words. */
export function echoWords(text: string, max = Number.POSITIVE_INFINITY): string[] {
  const out: string[] = [];
  const norm = text.normalize('NFKC').toLowerCase().replace(/[\p{P}\p{S}]+/gu, ' ');
  const anyCjk = CJK.test(norm);
  for (const token of norm.split(/\s+/)) {
    if (token === '') continue;
    if (anyCjk && CJK.test(token)) {
      // Split around each CJK character, keeping runs of other letters (digits, Latin) whole.
      for (const piece of token.replace(CJK_G, ' $& ').split(/\s+/)) {
        if (piece !== '') out.push(piece);
        if (out.length >= max) return out;
      }
    } else {
      out.push(token);
      if (out.length >= max) return out;
    }
  }
  return out;
}

/** Words that differ by one edit (colour/color, a misheard ending) count as the same word when long
 *  enough for that to be a misrecognition rather than another word. */
function sameWord(a: string, b: string): boolean {
  if (a === b) return true;
  if (a.length < 4 || b.length < 4 || Math.abs(a.length - b.length) > 1) return false;
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  let ja = a.length - 1;
  let jb = b.length - 1;
  while (ja >= i && jb >= i && a[ja] === b[jb]) {
    ja--;
    jb--;
  }
  return ja - i <= 0 && jb - i <= 0;
}

/** An answer's words as ids into its vocabulary (each distinct word once). */
interface AnswerWords {
  ids: Int32Array;
  vocabulary: string[];
}

function answerWords(text: string): AnswerWords {
  const words = echoWords(text, MAX_ANSWER_WORDS);
  const index = new Map<string, number>();
  const vocabulary: string[] = [];
  const ids = new Int32Array(words.length);
  words.forEach((w, j) => {
    let id = index.get(w);
    if (id === undefined) {
      id = vocabulary.length;
      vocabulary.push(w);
      index.set(w, id);
    }
    ids[j] = id;
  });
  return { ids, vocabulary };
}

/** The last answers tokenized: the same texts are judged at every partial of an utterance. */
const CACHE_SIZE = 4;
const cache: { text: string; words: AnswerWords }[] = [];

function cachedAnswerWords(text: string): AnswerWords {
  const hit = cache.find((c) => c.text === text);
  if (hit) return hit.words;
  const words = answerWords(text);
  cache.unshift({ text, words });
  if (cache.length > CACHE_SIZE) cache.pop();
  return words;
}

/** Words of the transcript matched by the best local alignment against `answer`. The word
 *  comparisons are made once per transcript word and vocabulary entry; the alignment itself reads
 *  a table (n × m cells, at most 64 × 1024). */
export function alignedMatches(utterance: readonly string[], answer: readonly string[] | AnswerWords): number {
  const { ids, vocabulary } = Array.isArray(answer) ? answerWords((answer as readonly string[]).join(' ')) : (answer as AnswerWords);
  const m = ids.length;
  const v = vocabulary.length;
  const same = new Uint8Array(utterance.length * v);
  utterance.forEach((u, i) => {
    for (let k = 0; k < v; k++) if (sameWord(u, vocabulary[k] as string)) same[i * v + k] = 1;
  });
  let score = new Int32Array(m + 1);
  let matches = new Int32Array(m + 1);
  let nextScore = new Int32Array(m + 1);
  let nextMatches = new Int32Array(m + 1);
  let bestScore = 0;
  let bestMatches = 0;
  for (let i = 0; i < utterance.length; i++) {
    const row = i * v;
    nextScore[0] = 0;
    nextMatches[0] = 0;
    for (let j = 1; j <= m; j++) {
      const hit = same[row + (ids[j - 1] as number)] === 1;
      let s = (score[j - 1] as number) + (hit ? MATCH : -PENALTY);
      let k = (matches[j - 1] as number) + (hit ? 1 : 0);
      const up = (score[j] as number) - PENALTY; // a transcript word the answer lacks
      if (up > s) {
        s = up;
        k = matches[j] as number;
      }
      const left = (nextScore[j - 1] as number) - PENALTY; // an answer word the transcript lacks
      if (left > s) {
        s = left;
        k = nextMatches[j - 1] as number;
      }
      if (s <= 0) {
        s = 0;
        k = 0;
      }
      nextScore[j] = s;
      nextMatches[j] = k;
      if (s > bestScore || (s === bestScore && k > bestMatches)) {
        bestScore = s;
        bestMatches = k;
      }
    }
    [score, nextScore] = [nextScore, score];
    [matches, nextMatches] = [nextMatches, matches];
  }
  return bestMatches;
}

/** Words of a partial transcript judged for a barge-in: its newest ones, where a user speaking up
 *  after an echo shows first. */
export const BARGE_IN_TAIL_WORDS = 16;

/** Is `transcript` the assistant's own voice? `answers`: the answer texts it could be echoing.
 *  `tail`: judge only the transcript's last `tail` words (else its first 64). */
export function judgeEcho(transcript: string, answers: readonly string[], cfg: EchoGuardConfig, tail?: number): EchoVerdict {
  const words = tail === undefined ? echoWords(transcript, MAX_UTTERANCE_WORDS) : echoWords(transcript).slice(-tail);
  if (words.length === 0) return 'unsure';
  let best = 0;
  for (const text of answers) {
    const answer = cachedAnswerWords(text);
    if (answer.ids.length === 0) continue;
    best = Math.max(best, alignedMatches(words, answer));
    if (best === words.length) break;
  }
  const coverage = best / words.length;
  if (coverage < cfg.coverage) return 'user';
  return words.length < cfg.minWords ? 'unsure' : 'echo';
}

// Echo guard (options.echo_guard, SPEC.md "Barge-in"): a device that plays the answers aloud feeds
// them back into its own microphone, and the gateway would take the assistant's voice for the
// user's — cancelling the answer (barge-in) and answering its own words. Acoustic echo
// cancellation removes most of it on the device; what gets through is recognised as words the
// gateway itself just sent. The guard compares a transcript with the assistant's recent answer
// text: when the transcript's words are (almost all) a stretch of that text, it is echo.
//
// The comparison is a local alignment (Smith-Waterman over words: match +2, mismatch or gap −1) of
// the transcript against each answer text, so a few misrecognised words still match, while common
// words scattered over a long answer do not add up. Bounded: the transcript's last
// MAX_UTTERANCE_WORDS words, and a window of MAX_ANSWER_WORDS words of each answer around the part
// the client is estimated to be playing (two rows of typed arrays per call).

export type EchoVerdict = 'echo' | 'user' | 'unsure';

export interface EchoGuardConfig {
  /** Fewer transcript words than this are never called echo, only 'unsure' (or 'user'). */
  minWords: number;
  /** Share of the transcript's words the best alignment must match to be echo (0..1). */
  coverage: number;
}

const MAX_UTTERANCE_WORDS = 64;
/** Words of an answer compared: a window around the estimated playback position. */
const MAX_ANSWER_WORDS = 1024;
/** Words of an answer tokenized at most (a longer one is compared within its first ones). */
const MAX_TOKENIZED_WORDS = 16_384;
/** Transcript words outside the stretch that aligns with an answer that make it the user's: the
 *  user spoke before or after the echo (a word or two can be the recognizer's noise). */
const OUTSIDE_WORDS_USER = 3;
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

/** What the user may be hearing: an answer's text, and the word the client is estimated to be
 *  playing (from when it started and a speaking rate), if known. */
export interface EchoSource {
  text: string;
  position?: number;
}

/** Words as ids into their vocabulary (each distinct word once). */
interface WordIds {
  ids: Int32Array;
  vocabulary: string[];
}

function wordIds(words: readonly string[]): WordIds {
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

/** The last answers tokenized: the same texts are judged at every partial of an utterance. Shared
 *  by the sessions of this process; 4 entries. */
const CACHE_SIZE = 4;
/** Windows of one answer kept with it (their word ids). */
const WINDOWS_PER_ANSWER = 4;
/** Window starts are multiples of this, so nearby playback positions share a window. */
const WINDOW_STEP = 128;

interface CachedAnswer {
  text: string;
  words: string[];
  windows: Map<number, WordIds>;
}
const cache: CachedAnswer[] = [];

function cachedAnswer(text: string): CachedAnswer {
  const hit = cache.find((c) => c.text === text);
  if (hit) return hit;
  const entry: CachedAnswer = { text, words: echoWords(text, MAX_TOKENIZED_WORDS), windows: new Map() };
  cache.unshift(entry);
  if (cache.length > CACHE_SIZE) cache.pop();
  return entry;
}

function cachedWords(text: string): string[] {
  return cachedAnswer(text).words;
}

/** Where the compared window of an answer of `length` words starts: 0 for a short answer; for a
 *  long one, MAX_ANSWER_WORDS around the estimated playback position (the start when unknown). */
function windowStart(length: number, position: number | undefined): number {
  if (length <= MAX_ANSWER_WORDS) return 0;
  const centred = Math.round(((position ?? 0) - MAX_ANSWER_WORDS / 2) / WINDOW_STEP) * WINDOW_STEP;
  return Math.max(0, Math.min(length - MAX_ANSWER_WORDS, centred));
}

/** The answer's words compared (see windowStart). */
export function answerWindow(words: readonly string[], position: number | undefined): readonly string[] {
  const from = windowStart(words.length, position);
  return from === 0 && words.length <= MAX_ANSWER_WORDS ? words : words.slice(from, from + MAX_ANSWER_WORDS);
}

/** The compared window of `source` as word ids, cached with the answer. */
function sourceWindow(source: EchoSource): WordIds {
  const entry = cachedAnswer(source.text);
  const from = windowStart(entry.words.length, source.position);
  let ids = entry.windows.get(from);
  if (!ids) {
    ids = wordIds(entry.words.slice(from, from + MAX_ANSWER_WORDS));
    if (entry.windows.size >= WINDOWS_PER_ANSWER) entry.windows.clear();
    entry.windows.set(from, ids);
  }
  return ids;
}

export interface Alignment {
  /** Transcript words matched by the best local alignment. */
  matches: number;
  /** Transcript words before and after the aligned stretch. */
  outside: number;
}

/** The best local alignment of the transcript against `answer`. The word comparisons are made
 *  once per transcript word and vocabulary entry; the alignment itself reads a table (n × m cells,
 *  at most 64 × 1024). */
export function align(utterance: readonly string[], answer: readonly string[] | WordIds): Alignment {
  const { ids, vocabulary } = 'ids' in answer ? answer : wordIds(answer);
  const n = utterance.length;
  const m = ids.length;
  const v = vocabulary.length;
  const same = new Uint8Array(n * v);
  utterance.forEach((u, i) => {
    for (let k = 0; k < v; k++) if (sameWord(u, vocabulary[k] as string)) same[i * v + k] = 1;
  });
  // Per cell: the best score of an alignment ending there, its matches, and the transcript row
  // where it starts.
  let score = new Int32Array(m + 1);
  let matches = new Int32Array(m + 1);
  let start = new Int32Array(m + 1);
  let nextScore = new Int32Array(m + 1);
  let nextMatches = new Int32Array(m + 1);
  let nextStart = new Int32Array(m + 1);
  let bestScore = 0;
  let best: Alignment = { matches: 0, outside: n };
  for (let i = 0; i < n; i++) {
    const row = i * v;
    nextScore[0] = 0;
    nextMatches[0] = 0;
    nextStart[0] = i + 1;
    for (let j = 1; j <= m; j++) {
      const hit = same[row + (ids[j - 1] as number)] === 1;
      let s = (score[j - 1] as number) + (hit ? MATCH : -PENALTY);
      let k = (matches[j - 1] as number) + (hit ? 1 : 0);
      let from = (score[j - 1] as number) > 0 ? (start[j - 1] as number) : i;
      const up = (score[j] as number) - PENALTY; // a transcript word the answer lacks
      if (up > s) {
        s = up;
        k = matches[j] as number;
        from = start[j] as number;
      }
      const left = (nextScore[j - 1] as number) - PENALTY; // an answer word the transcript lacks
      if (left > s) {
        s = left;
        k = nextMatches[j - 1] as number;
        from = nextStart[j - 1] as number;
      }
      if (s <= 0) {
        s = 0;
        k = 0;
        from = i + 1;
      }
      nextScore[j] = s;
      nextMatches[j] = k;
      nextStart[j] = from;
      if (s > bestScore || (s === bestScore && k > best.matches)) {
        bestScore = s;
        best = { matches: k, outside: from + (n - 1 - i) };
      }
    }
    [score, nextScore] = [nextScore, score];
    [matches, nextMatches] = [nextMatches, matches];
    [start, nextStart] = [nextStart, start];
  }
  return best;
}

/** Words a second a client is assumed to speak an answer at (text-to-speech runs at about 2.5–3
 *  English words a second): where its playback is, and when it ends. */
export const SPEAKING_WORDS_PER_S = 2.5;

/** The word a client that began speaking `text` `elapsedMs` ago is estimated to be at. */
export function playbackPosition(elapsedMs: number): number {
  return (Math.max(0, elapsedMs) / 1000) * SPEAKING_WORDS_PER_S;
}

/** How long speaking `text` takes at SPEAKING_WORDS_PER_S, ms. */
export function speakingMs(text: string): number {
  return (cachedWords(text).length / SPEAKING_WORDS_PER_S) * 1000;
}

/** Words of a partial transcript judged for a barge-in: its newest ones, where a user speaking up
 *  after an echo shows first. */
export const BARGE_IN_TAIL_WORDS = 16;

/** Is `transcript` the assistant's own voice? `sources`: the answers it could be echoing. Judged
 *  on the transcript's last `tail` words (at most 64): echo when at least `coverage` of them align
 *  with one stretch of an answer and fewer than 3 lie outside that stretch (words before or after
 *  it are the user speaking over the echo). */
export function judgeEcho(transcript: string, sources: readonly EchoSource[], cfg: EchoGuardConfig, tail = MAX_UTTERANCE_WORDS): EchoVerdict {
  const words = echoWords(transcript).slice(-Math.min(tail, MAX_UTTERANCE_WORDS));
  if (words.length === 0) return 'unsure';
  let best: Alignment = { matches: 0, outside: words.length };
  for (const source of sources) {
    const answer = sourceWindow(source);
    if (answer.ids.length === 0) continue;
    const a = align(words, answer);
    if (a.matches > best.matches || (a.matches === best.matches && a.outside < best.outside)) best = a;
    if (best.matches === words.length) break;
  }
  if (best.matches / words.length < cfg.coverage || best.outside >= OUTSIDE_WORDS_USER) return 'user';
  return words.length < cfg.minWords ? 'unsure' : 'echo';
}

// The simulated ASR's "model": a book of registered clips (sim/asr/clips.json). Audio is matched to
// a clip by its energy-envelope fingerprint (fingerprint.ts); a matched clip yields its registered
// transcript (or translation), word by word in step with the speech; anything else yields
// placeholder words sized to the speech duration. Nothing here recognises speech.
import { readFileSync } from 'node:fs';
import {
  distanceAt,
  FLOOR_DB,
  findOnset,
  FRAME_SUBS,
  MATCH_THRESHOLD_DB,
  ONSET_DB,
  SUB_SAMPLES,
  SUBS_PER_SECOND,
  subEnergies,
  windowDbs,
} from './fingerprint.ts';
import type { ClipManifest, ClipManifestEntry } from './types.ts';

/** Words per second of placeholder speech. */
export const PLACEHOLDER_WORDS_PER_SECOND = 2.5;
/** The placeholder vocabulary, in order: word i of an unmatched utterance is PLACEHOLDER_WORDS[i % n]. */
export const PLACEHOLDER_WORDS = [
  'simulated', 'speech', 'without', 'a', 'registered', 'transcript', 'these', 'words', 'only', 'measure',
  'how', 'long', 'the', 'audio', 'was', 'and', 'say', 'nothing', 'about', 'what', 'was', 'said', 'at', 'all',
] as const;

/** Sound shorter than CLICK_MAX_SUBS sub-frames followed by CLICK_GAP_SUBS of quiet is ignored. */
export const CLICK_MAX_SUBS = 40;
export const CLICK_GAP_SUBS = 20;

/** Speech shorter than this (ms) is not matched while it is still in progress. */
export const MIN_PREFIX_MATCH_MS = 600;

/** A token of a transcript with its time relative to the clip's speech onset, seconds. */
export interface ClipToken {
  text: string;
  start: number;
  end: number;
}

export interface BookClip {
  name: string;
  text: string;
  language: string;
  translation?: string;
  speechMs: number;
  frames: readonly number[];
  /** Tokens of `text` (words, or characters for CJK), timed over the speech. */
  tokens: readonly ClipToken[];
  /** Tokens of `translation`, timed over the same speech. */
  translationTokens?: readonly ClipToken[];
}

export interface ClipMatch {
  clip: BookClip;
  /** Sample (16 kHz, in the audio given) where the clip's speech starts. */
  speechStartSample: number;
  /** Mean |ΔdB| of the best alignment. */
  distance: number;
}

export type AsrTask = 'transcribe' | 'translate';

export interface TranscribeOptions {
  task?: AsrTask;
  /** Whisper language code the caller forces; undefined = detect. */
  language?: string;
}

export interface TranscribedWord {
  /** Whisper style: a leading space for languages written with spaces. */
  word: string;
  start: number;
  end: number;
  probability: number;
}

export interface TranscribedSegment {
  /** Seconds from the start of the audio given. */
  start: number;
  end: number;
  /** Whisper style: leading space for languages written with spaces. */
  text: string;
  words: TranscribedWord[];
  /** Registered clip the segment comes from (absent for placeholder words). */
  clip?: string;
}

export interface Transcription {
  /** The transcript, trimmed. */
  text: string;
  /** Detected (or forced) language code. */
  language: string;
  languageProbability: number;
  segments: TranscribedSegment[];
  /** Registered clips recognised, in order. */
  clips: string[];
  /** Present when the audio ends inside a registered clip: the fraction of its speech heard (0..1);
   *  `text` then holds only the words heard so far. */
  partialFraction?: number;
  /** Speech heard, ms. */
  speechMs: number;
}

const SENTENCE_END = /[.?!。？！]$/;
const CJK = /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]/;
const PUNCT_ONLY = /^[\p{P}\s]+$/u;

/** Whether a language is written without spaces between words (Whisper joins its tokens directly). */
export function isUnspacedLanguage(language: string): boolean {
  return language === 'zh' || language === 'ja' || language === 'yue' || language === 'th' || language === 'lo' || language === 'my' || language === 'bo';
}

/** Split text into reveal units: words (punctuation kept on them), or single characters for CJK. */
export function tokenize(text: string): string[] {
  const out: string[] = [];
  for (const word of text.trim().split(/\s+/)) {
    if (word === '') continue;
    if (!CJK.test(word)) {
      out.push(word);
      continue;
    }
    for (const ch of word) {
      if (PUNCT_ONLY.test(ch) && out.length > 0) out[out.length - 1] += ch;
      else out.push(ch);
    }
  }
  return out;
}

function syllables(token: string): number {
  if (CJK.test(token)) return 1;
  const w = token.toLowerCase().replace(/[^a-z]/g, '');
  let n = w.match(/[aeiouy]+/g)?.length ?? 1;
  if (n > 1 && w.endsWith('e') && !w.endsWith('le')) n--; // silent e
  return Math.max(1, n);
}

const FRAME_SEC = FRAME_SUBS / SUBS_PER_SECOND;
/** Frames above this level count as voiced when timing words. */
const VOICED_DB = FLOOR_DB + 15;
/** A run of at least this many unvoiced frames (120 ms) is a pause that can end a sentence. */
const PAUSE_FRAMES = 6;

/** Time tokens over frames [from, to): each gets a share of the voiced frames proportional to its syllables. */
function timeSpan(tokens: string[], frames: readonly number[], from: number, to: number, out: ClipToken[]): void {
  const cum: number[] = []; // voiced frames passed at the end of frame from + j
  let v = 0;
  for (let j = from; j < to; j++) {
    if ((frames[j] as number) > VOICED_DB) v++;
    cum.push(v);
  }
  const total = Math.max(1, v);
  const weights = tokens.map(syllables);
  const wsum = weights.reduce((a, b) => a + b, 0) || 1;
  const timeAtVoiced = (k: number): number => {
    if (k <= 0) return from * FRAME_SEC;
    const j = cum.findIndex((c) => c >= k);
    return (from + (j < 0 ? to - from : j + 1)) * FRAME_SEC;
  };
  let acc = 0;
  for (let i = 0; i < tokens.length; i++) {
    // A word starts at the first voiced frame after the previous one ended (pauses belong to no word).
    const startK = Math.round((acc / wsum) * total);
    const j0 = cum.findIndex((c) => c > startK);
    const start = j0 < 0 ? timeAtVoiced(startK) : (from + j0) * FRAME_SEC;
    acc += weights[i] as number;
    const end = i === tokens.length - 1 ? to * FRAME_SEC : timeAtVoiced(Math.round((acc / wsum) * total));
    out.push({ text: tokens[i] as string, start: round3(start), end: round3(Math.max(end, start + 0.02)) });
  }
}

/**
 * Time tokens over a clip's speech: words share the *voiced* frames in proportion to their
 * syllables, so pauses get no word; with several sentences and as many pauses, each sentence is
 * placed between the longest pauses (a sentence ends where the speaker paused).
 */
export function timeTokens(tokens: string[], frames: readonly number[]): ClipToken[] {
  const sentences: string[][] = [[]];
  for (const t of tokens) {
    (sentences[sentences.length - 1] as string[]).push(t);
    if (SENTENCE_END.test(t)) sentences.push([]);
  }
  if ((sentences[sentences.length - 1] as string[]).length === 0) sentences.pop();
  const pauses: { start: number; end: number }[] = [];
  let run = -1;
  for (let j = 0; j <= frames.length; j++) {
    const unvoiced = j < frames.length && (frames[j] as number) <= VOICED_DB;
    if (unvoiced && run < 0) run = j;
    else if (!unvoiced && run >= 0) {
      if (j - run >= PAUSE_FRAMES && run > 0 && j < frames.length) pauses.push({ start: run, end: j });
      run = -1;
    }
  }
  const out: ClipToken[] = [];
  if (sentences.length < 2 || pauses.length < sentences.length - 1) {
    timeSpan(tokens, frames, 0, frames.length, out);
    return out;
  }
  const cuts = pauses
    .sort((a, b) => b.end - b.start - (a.end - a.start))
    .slice(0, sentences.length - 1)
    .sort((a, b) => a.start - b.start);
  let from = 0;
  sentences.forEach((sentence, i) => {
    const cut = cuts[i];
    const to = cut === undefined ? frames.length : cut.start;
    timeSpan(sentence, frames, from, to, out);
    if (cut !== undefined) from = cut.end;
  });
  return out;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** Join tokens as Whisper prints them: a leading space before each word, or none for CJK. */
export function joinTokens(tokens: readonly string[], unspaced: boolean): string {
  return unspaced ? tokens.join('') : tokens.map((t) => ` ${t}`).join('');
}

/** Placeholder tokens of an unmatched utterance of `speechSec` seconds (at least one word). */
export function placeholderTokens(speechSec: number, final: boolean): ClipToken[] {
  const per = 1 / PLACEHOLDER_WORDS_PER_SECOND;
  const n = final ? Math.max(1, Math.round(speechSec * PLACEHOLDER_WORDS_PER_SECOND)) : Math.floor(speechSec * PLACEHOLDER_WORDS_PER_SECOND);
  const out: ClipToken[] = [];
  for (let i = 0; i < n; i++) out.push({ text: PLACEHOLDER_WORDS[i % PLACEHOLDER_WORDS.length] as string, start: round3(i * per), end: round3((i + 1) * per) });
  return out;
}

/** Deterministic pseudo confidence in [lo, hi) from a string. */
export function pseudoProb(key: string, lo: number, hi: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193) >>> 0;
  return lo + ((h % 10_000) / 10_000) * (hi - lo);
}

/** Which text a clip yields for a task/forced language, and the language reported. */
export function clipOutput(clip: BookClip, opts: TranscribeOptions): { tokens: readonly ClipToken[]; unspaced: boolean; language: string } {
  const wantsEnglish = opts.task === 'translate' || (opts.language === 'en' && clip.language !== 'en');
  if (wantsEnglish && clip.translationTokens !== undefined) {
    return { tokens: clip.translationTokens, unspaced: false, language: opts.language ?? clip.language };
  }
  return { tokens: clip.tokens, unspaced: isUnspacedLanguage(clip.language), language: opts.language ?? clip.language };
}

export class ClipBook {
  readonly clips: readonly BookClip[];
  private readonly byName = new Map<string, BookClip>();

  constructor(
    entries: Record<string, ClipManifestEntry>,
    readonly threshold = MATCH_THRESHOLD_DB,
  ) {
    const clips: BookClip[] = [];
    for (const [name, e] of Object.entries(entries)) {
      const frames = e.fingerprint.frames;
      const clip: BookClip = { name, text: e.text, language: e.language, speechMs: e.speechMs, frames, tokens: timeTokens(tokenize(e.text), frames) };
      if (e.translation !== undefined) {
        clip.translation = e.translation;
        clip.translationTokens = timeTokens(tokenize(e.translation), frames);
      }
      clips.push(clip);
      this.byName.set(name, clip);
    }
    this.clips = clips;
  }

  get(name: string): BookClip | undefined {
    return this.byName.get(name);
  }

  /**
   * Best clip for speech whose onset is at sub-frame `onset` of the window dBs `win`, comparing
   * `frames` 20 ms frames (what is available). `complete`: the audio holds the whole utterance, so
   * the clip must be (about) fully present; otherwise the first frames are compared (≥ 600 ms).
   */
  matchWindows(win: Float32Array, onset: number, frames: number, complete: boolean): { clip: BookClip; distance: number; shift: number } | undefined {
    let best: { clip: BookClip; distance: number; shift: number } | undefined;
    const minPrefixFrames = (MIN_PREFIX_MATCH_MS * SUBS_PER_SECOND) / 1000 / FRAME_SUBS;
    for (const clip of this.clips) {
      const n = clip.frames.length;
      if (complete ? frames < n * 0.85 : frames < Math.min(minPrefixFrames, n * 0.85)) continue;
      const { distance, shift } = distanceAt(clip.frames, win, onset, Math.min(frames, n));
      if (distance <= this.threshold && (best === undefined || distance < best.distance)) best = { clip, distance, shift };
    }
    return best;
  }

  /** The clip whose speech the audio holds (the first speech in it), or undefined. */
  match(samples16k: Int16Array | Float32Array): ClipMatch | undefined {
    const win = windowDbs(subEnergies(samples16k));
    const onset = findOnset(win);
    if (onset < 0) return undefined;
    const m = this.matchWindows(win, onset, Math.floor((win.length - onset) / FRAME_SUBS), true);
    return m && { clip: m.clip, speechStartSample: (onset + m.shift) * SUB_SAMPLES, distance: m.distance };
  }

  /** Like match(), for an utterance still in progress: the clip whose start the audio holds, once
   *  at least 600 ms of speech are in. */
  matchPrefix(samples16k: Int16Array | Float32Array): ClipMatch | undefined {
    const win = windowDbs(subEnergies(samples16k));
    const onset = findOnset(win);
    if (onset < 0) return undefined;
    const usable = Math.floor((win.length - onset - FRAME_SUBS) / FRAME_SUBS);
    const m = this.matchWindows(win, onset, usable, false);
    return m && { clip: m.clip, speechStartSample: (onset + m.shift) * SUB_SAMPLES, distance: m.distance };
  }

  /**
   * Transcribe a buffer (16 kHz mono): every registered clip found in it gives its text (or
   * translation), every other stretch of speech gives placeholder words; speech still running at
   * the end of the buffer gives the words heard so far (see `partialFraction`).
   */
  transcribe(samples16k: Int16Array | Float32Array, opts: TranscribeOptions = {}): Transcription {
    const win = windowDbs(subEnergies(samples16k));
    const secPerSub = 1 / SUBS_PER_SECOND;
    const gapSubs = 0.5 * SUBS_PER_SECOND; // an unmatched utterance ends after 500 ms of silence
    const segments: TranscribedSegment[] = [];
    const clips: string[] = [];
    let speechSubs = 0;
    let partialFraction: number | undefined;
    let language: string | undefined;
    let pos = 0;
    const pushTokens = (tokens: readonly ClipToken[], origin: number, unspaced: boolean, clip: string | undefined, key: string): void => {
      // Split at sentence ends, like Whisper's segments.
      let cur: TranscribedWord[] = [];
      const flush = (): void => {
        const first = cur[0];
        const last = cur[cur.length - 1];
        if (first === undefined || last === undefined) return;
        const seg: TranscribedSegment = { start: first.start, end: last.end, text: cur.map((w) => w.word).join(''), words: cur };
        if (clip !== undefined) seg.clip = clip;
        segments.push(seg);
        cur = [];
      };
      tokens.forEach((t, i) => {
        const word = unspaced ? t.text : ` ${t.text}`;
        cur.push({ word, start: round3(origin + t.start), end: round3(origin + t.end), probability: round4(pseudoProb(`${key}:${i}`, 0.62, 0.999)) });
        if (SENTENCE_END.test(t.text)) flush();
      });
      flush();
    };
    while (pos < win.length) {
      const onset = findOnset(win, pos);
      if (onset < 0) break;
      const { end, open } = regionEnd(win, onset, gapSubs);
      const available = Math.floor((win.length - onset - FRAME_SUBS) / FRAME_SUBS);
      const m = this.matchWindows(win, onset, available, true) ?? (open ? this.matchWindows(win, onset, available, false) : undefined);
      if (m !== undefined) {
        const start = onset + m.shift;
        const out = clipOutput(m.clip, opts);
        const heardSec = (win.length - start) * secPerSub;
        // The buffer ends inside the clip's speech: only the words heard so far.
        const cut = open && heardSec * 1000 < m.clip.speechMs;
        const tokens = cut ? out.tokens.filter((t) => t.end <= heardSec + 0.04) : out.tokens;
        pushTokens(tokens, start * secPerSub, out.unspaced, m.clip.name, m.clip.name);
        clips.push(m.clip.name);
        language ??= out.language;
        if (cut) partialFraction = round3((heardSec * 1000) / m.clip.speechMs);
        const clipEnd = start + Math.round((m.clip.speechMs * SUBS_PER_SECOND) / 1000);
        speechSubs += Math.min(win.length, clipEnd) - onset;
        // Swallow the rest of the clip's speech (and any tail up to the next pause).
        pos = Math.max(clipEnd, onset + 1);
        const after = findOnset(win, pos);
        if (after >= 0 && after < pos + 2 * FRAME_SUBS) pos = regionEnd(win, after, gapSubs).end;
        continue;
      }
      // A click or cough (under 200 ms, then 100 ms of quiet) is not speech to Whisper: skip it.
      const island = regionEnd(win, onset, CLICK_GAP_SUBS);
      if (!island.open && island.end - onset < CLICK_MAX_SUBS) {
        pos = island.end;
        continue;
      }
      const speechSec = (end - onset) * secPerSub;
      speechSubs += end - onset;
      // Still-open speech too short to match yet: too early to say anything (a clip may still match).
      if (!(open && speechSec * 1000 < MIN_PREFIX_MATCH_MS + 100)) {
        pushTokens(placeholderTokens(speechSec, !open), onset * secPerSub, false, undefined, `ph:${onset}`);
      }
      language ??= opts.language ?? 'en';
      pos = end;
    }
    const lang = language ?? opts.language ?? 'en';
    const text = segments.map((s) => s.text).join('').trim();
    const out: Transcription = {
      text,
      language: lang,
      languageProbability: round4(pseudoProb(`${lang}:${clips.join(',')}`, 0.86, 0.995)),
      segments,
      clips,
      speechMs: Math.round(speechSubs * secPerSub * 1000),
    };
    if (partialFraction !== undefined) out.partialFraction = partialFraction;
    return out;
  }
}

function round4(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}

/** End of the speech region starting at `onset` (one past its last speech window's end) and
 *  whether it runs to the end of the buffer without `gapSubs` of silence after it. */
function regionEnd(win: Float32Array, onset: number, gapSubs: number): { end: number; open: boolean } {
  let last = onset;
  for (let j = onset; j < win.length; j++) {
    if ((win[j] as number) >= ONSET_DB) last = j;
    else if (j - last >= gapSubs) return { end: Math.min(win.length, last + FRAME_SUBS), open: false };
  }
  return { end: Math.min(win.length, last + FRAME_SUBS), open: true };
}

let cached: ClipBook | undefined;

/** The clip book of the committed manifest (sim/asr/clips.json), loaded once. */
export function loadClipBook(): ClipBook {
  if (cached === undefined) {
    const manifest = JSON.parse(readFileSync(new URL('./clips.json', import.meta.url), 'utf8')) as ClipManifest;
    cached = new ClipBook(manifest.clips);
  }
  return cached;
}

// Backchannels (options.ignore_backchannels): "yeah", "uh-huh", "right", "I see" said while the
// assistant is speaking are the listener keeping the conversation going, not a bid for the turn.
// An utterance is a backchannel when its words (as the echo guard reads them: lower-case, no
// punctuation) are entirely a sequence of the configured backchannel phrases, and it is short.
import { echoWords } from './echo-guard.ts';

/** Longer utterances are never backchannels. */
const MAX_WORDS = 8;

/** The default phrases: English, and a few common ones of other languages. */
export const DEFAULT_BACKCHANNELS: readonly string[] = [
  'yeah', 'yes', 'yep', 'yup', 'uh huh', 'uh-huh', 'mm hmm', 'mm-hmm', 'mhm', 'mm', 'hmm', 'okay', 'ok', 'right', 'sure',
  'i see', 'got it', 'alright', 'all right', 'cool', 'nice', 'great', 'oh', 'ah', 'wow', 'really', 'exactly', 'true', 'indeed', 'uh', 'um',
  'ja', 'genau', 'sí', 'vale', 'claro', 'oui', "d'accord", '嗯', '对',
];

/** Phrases as word sequences, for isBackchannel. */
export function backchannelPhrases(phrases: readonly string[]): string[][] {
  return phrases.map((p) => echoWords(p)).filter((w) => w.length > 0);
}

/** Is `text` only backchannel phrases (one or several, repeated or not)? */
export function isBackchannel(text: string, phrases: readonly (readonly string[])[]): boolean {
  const words = echoWords(text, MAX_WORDS + 1);
  if (words.length === 0 || words.length > MAX_WORDS) return false;
  // covered[i]: the first i words split into phrases.
  const covered = new Array<boolean>(words.length + 1).fill(false);
  covered[0] = true;
  for (let i = 0; i < words.length; i++) {
    if (!covered[i]) continue;
    for (const p of phrases) {
      if (i + p.length <= words.length && p.every((w, k) => words[i + k] === w)) covered[i + p.length] = true;
    }
  }
  return covered[words.length] === true;
}

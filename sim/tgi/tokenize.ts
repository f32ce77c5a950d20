// A stand-in for the Llama/IDEFICS SentencePiece tokenizer: splits text into word-piece-like tokens
// (" The", " capital", " intere"+"sting", "4", "2", ".", "\n") with stable ids from a hash.
// Token counts approximate the real tokenizer (~1.3 tokens per English word, ~1 per 4 chars).
import { fnv1a } from '../random.ts';

/** Special tokens of Llama-2 and IDEFICS-9b-instruct (added_tokens.json of the Hub repos). */
export const SPECIAL_IDS: Readonly<Record<string, number>> = {
  '<unk>': 0,
  '<s>': 1,
  '</s>': 2,
  '<fake_token_around_image>': 32000,
  '<image>': 32001,
  '<end_of_utterance>': 32002,
};

export const BOS = { id: 1, text: '<s>' } as const;
export const EOS = { id: 2, text: '</s>' } as const;
export const END_OF_UTTERANCE = { id: 32002, text: '<end_of_utterance>' } as const;

/** Words up to this many letters are one token; longer words split into ~6-letter pieces. */
const WHOLE_WORD_MAX = 8;
const PIECE_LETTERS = 6;

const PIECE_RE =
  /<\/s>|<s>|<unk>|<end_of_utterance>|<image>|<fake_token_around_image>|\n| ?[A-Za-z]+| ?[0-9]| ?[^\sA-Za-z0-9]|[^\S\n]+/gu;

/** Id of a token text: special ids, Llama's byte token for newline (<0x0A> = 13), else a hash
 *  into the ordinary vocabulary range [259, 32000). */
export function tokenId(text: string): number {
  const special = SPECIAL_IDS[text];
  if (special !== undefined) return special;
  if (text === '\n') return 13;
  return 259 + (fnv1a(text) % (32000 - 259));
}

function wordPieceCount(letters: number): number {
  return letters <= WHOLE_WORD_MAX ? 1 : Math.ceil(letters / PIECE_LETTERS);
}

/** Split text into token texts. */
export function splitPieces(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(PIECE_RE)) {
    const piece = m[0];
    const space = piece.startsWith(' ') ? 1 : 0;
    const letters = piece.length - space;
    const first = piece.charCodeAt(space);
    const isWord = (first >= 65 && first <= 90) || (first >= 97 && first <= 122);
    if (!isWord || letters <= WHOLE_WORD_MAX) {
      out.push(piece);
      continue;
    }
    const n = wordPieceCount(letters);
    const size = Math.ceil(letters / n);
    let at = space;
    for (let k = 0; k < n; k++) {
      const end = k === n - 1 ? piece.length : space + (k + 1) * size;
      out.push(k === 0 ? piece.slice(0, end) : piece.slice(at, end));
      at = end;
    }
  }
  return out;
}

/** Number of tokens in `text` (same rule as splitPieces, without allocating). */
export function countPieces(text: string): number {
  let count = 0;
  for (const m of text.matchAll(PIECE_RE)) {
    const piece = m[0];
    const space = piece.startsWith(' ') ? 1 : 0;
    const first = piece.charCodeAt(space);
    const isWord = (first >= 65 && first <= 90) || (first >= 97 && first <= 122);
    count += isWord ? wordPieceCount(piece.length - space) : 1;
  }
  return count;
}

/** TGI's router regex for markdown images in IDEFICS prompts. */
export const IMAGE_RE = /!\[\]\([^)]*\)/g;

/** Input length as TGI's router reports it: BOS (add_special_tokens=true) plus the prompt's
 *  tokens. For the VLM each `![](...)` image counts as one `<image>` token (router >= v2.0.2);
 *  for the LLM an image stays text, so a data URI inflates the count like the real tokenizer. */
export function countInputTokens(inputs: string, kind: 'llm' | 'vlm'): number {
  if (kind === 'vlm' && inputs.includes('![](')) {
    let images = 0;
    const text = inputs.replace(IMAGE_RE, () => {
      images++;
      return '';
    });
    return 1 + images + countPieces(text);
  }
  return 1 + countPieces(inputs);
}

/** Prefill tokens (decoder_input_details): BOS then the prompt's tokens. */
export function prefillTokens(inputs: string, kind: 'llm' | 'vlm'): { id: number; text: string }[] {
  const text = kind === 'vlm' ? inputs.replace(IMAGE_RE, '<image>') : inputs;
  return [{ ...BOS }, ...splitPieces(text).map((t) => ({ id: tokenId(t), text: t }))];
}

// Turns a served classifier's per-label probabilities into an IntentResult with the session's image
// context applied the way the rules classifier applies it (rules.ts): without an image, labels that
// need one are down-weighted, more so for a question (a question asked with no image is about the
// world), then the scores are renormalized. The factors are the rules classifier's evidence
// penalties seen through its softmax: exp(-1.5 × 1.25) ≈ 0.15 and exp(-1.5 × 2.25) ≈ 0.034.
import type { IntentContext, IntentResult, LabelScore } from './classifier-port.ts';
import { INTENT_LABELS, LABEL_INFO, type IntentLabel } from './labels.ts';

export interface ImageContextOptions {
  /** Multiplier for image-only labels when the session has no image (default 0.15). */
  noImageFactor?: number;
  /** The same for a question-form text (default 0.034). */
  noImageQuestionFactor?: number;
}

const QUESTION_START = new Set(['what', 'where', 'which', 'who', 'how', 'why', 'when', 'is', 'are', 'do', 'does', 'can', 'would', 'will', 'whose']);

/** Ends with "?" or starts with a question word (the rules classifier's test, on raw words). */
export function isQuestionForm(text: string): boolean {
  const trimmed = text.trim();
  if (trimmed.endsWith('?')) return true;
  const first = /^[a-z]+/i.exec(trimmed)?.[0]?.toLowerCase() ?? '';
  return QUESTION_START.has(first);
}

/** Sorted labels (every label once; ties: later label in INTENT_LABELS first, as rules.ts), scores
 *  renormalized and floored to 1e-4 so they never sum above 1. */
export function applyImageContext(
  probs: ReadonlyMap<IntentLabel, number>,
  text: string,
  ctx: IntentContext,
  opts: ImageContextOptions = {},
): IntentResult {
  const factor = isQuestionForm(text) ? (opts.noImageQuestionFactor ?? 0.034) : (opts.noImageFactor ?? 0.15);
  const raw = INTENT_LABELS.map((label) => {
    const p = Math.max(0, probs.get(label) ?? 0);
    return !ctx.hasImage && LABEL_INFO[label].needsImage ? p * factor : p;
  });
  const sum = raw.reduce((a, b) => a + b, 0);
  const labels: LabelScore[] = INTENT_LABELS.map((label, i) => ({
    label,
    score: sum > 0 ? Math.floor(((raw[i] as number) / sum) * 1e4) / 1e4 : label === 'chat' ? 1 : 0,
  }));
  labels.sort((a, b) => b.score - a.score || INTENT_LABELS.indexOf(b.label) - INTENT_LABELS.indexOf(a.label));
  return { labels };
}

/** Every label at 0 but chat at 1: the answer for an empty transcript. */
export function chatOnly(): IntentResult {
  return applyImageContext(new Map([['chat', 1]]), '', { hasImage: true });
}

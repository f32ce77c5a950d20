// The port every intent classifier implements (built-in rules, a zero-shot model endpoint, an LLM
// through TGI): text of a (partial) transcript plus context in, labels with scores out.
import type { IntentLabel } from './labels.ts';

export interface IntentContext {
  /** The session holds an image the turn can refer to. */
  hasImage: boolean;
  /** Cancels a served classifier's upstream call (it then rejects with an AbortError); the
   *  built-in rules classifier runs synchronously and ignores it. */
  signal?: AbortSignal;
}

export interface LabelScore {
  label: IntentLabel;
  score: number;
}

export interface IntentResult {
  /** Sorted top first; scores in [0, 1], summing to at most 1. */
  labels: LabelScore[];
}

export interface IntentClassifier {
  readonly id: string;
  classify(text: string, ctx: IntentContext): IntentResult | Promise<IntentResult>;
}

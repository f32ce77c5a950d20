// Intent classification by a zero-shot NLI model served over HTTP (the seed's
// MoritzLaurer/mDeBERTa-v3-base-xnli-multilingual-nli-2mil7 pipeline, here behind an HF
// zero-shot-classification endpoint): the candidate labels are the natural-language descriptions of
// the intent labels (LABEL_INFO), each turned into the hypothesis "The topic is {}."; the scores
// come back per description and are mapped back to labels, then the session's image context is
// applied as the rules classifier does and the scores renormalized. Results are cached per text, so
// a repeated partial transcript costs no round trip.
import { createHfZeroShotClient, type HfZeroShotClient } from '../backends/hf-inference/index.ts';
import type { IntentClassifier, IntentContext, IntentResult } from './classifier-port.ts';
import { applyImageContext, chatOnly, type ImageContextOptions } from './image-context.ts';
import { INTENT_LABELS, LABEL_INFO, type IntentLabel } from './labels.ts';

export interface ZeroShotClassifierOptions extends ImageContextOptions {
  /** Endpoint URL (Inference Endpoint root, `…/predict`, or `…/models/<id>`). */
  url: string;
  /** Bearer token for HF endpoints; never logged. */
  token?: string;
  /** Default "The topic is {}." (the seed's template, with a full stop as the pipeline's default has). */
  hypothesisTemplate?: string;
  /** Labels offered to the model (default every label). Others score 0. */
  labels?: readonly IntentLabel[];
  /** Whole round trip, ms (default 1500) → UPSTREAM_TIMEOUT. */
  timeoutMs?: number;
  /** Connect, ms (default 500) → UPSTREAM_UNAVAILABLE. */
  connectTimeoutMs?: number;
  maxConnections?: number;
  /** Largest answer read, bytes (default 64 KiB) → UPSTREAM_PROTOCOL beyond. */
  maxResponseBytes?: number;
  /** Upstream answers kept per text (default 256; 0 = none). */
  cacheSize?: number;
}

export class ZeroShotClassifier implements IntentClassifier {
  readonly id = 'zero-shot-v1';
  private readonly client: HfZeroShotClient;
  private readonly template: string;
  private readonly candidates: string[];
  private readonly labelOf = new Map<string, IntentLabel>();
  private readonly cacheSize: number;
  /** Upstream probabilities per text (before the image context, which the text does not change). */
  private readonly cache = new Map<string, ReadonlyMap<IntentLabel, number>>();

  constructor(private readonly opts: ZeroShotClassifierOptions) {
    const labels = opts.labels ?? INTENT_LABELS;
    if (labels.length < 2) throw new Error('zero-shot classifier: needs at least two labels');
    for (const label of labels) {
      const description = LABEL_INFO[label].description;
      if (this.labelOf.has(description)) throw new Error(`zero-shot classifier: two labels share the description "${description}"`);
      this.labelOf.set(description, label);
    }
    this.candidates = [...this.labelOf.keys()];
    this.template = opts.hypothesisTemplate ?? 'The topic is {}.';
    if (!this.template.includes('{}')) throw new Error('zero-shot classifier: hypothesisTemplate needs a {} placeholder');
    this.cacheSize = opts.cacheSize ?? 256;
    this.client = createHfZeroShotClient({
      url: opts.url,
      ...(opts.token === undefined ? {} : { token: opts.token }),
      connectTimeoutMs: opts.connectTimeoutMs ?? 500,
      timeoutMs: opts.timeoutMs ?? 1500,
      ...(opts.maxConnections === undefined ? {} : { maxConnections: opts.maxConnections }),
      ...(opts.maxResponseBytes === undefined ? {} : { maxResponseBytes: opts.maxResponseBytes }),
    });
  }

  async classify(text: string, ctx: IntentContext): Promise<IntentResult> {
    const trimmed = text.trim();
    if (trimmed === '') return chatOnly();
    let probs = this.cache.get(trimmed);
    if (probs === undefined) {
      const scores = await this.client.classify({
        text: trimmed,
        candidateLabels: this.candidates,
        hypothesisTemplate: this.template,
        signal: ctx.signal,
      });
      const map = new Map<IntentLabel, number>();
      for (const { label, score } of scores) map.set(this.labelOf.get(label) as IntentLabel, score);
      probs = map;
      if (this.cacheSize > 0) {
        if (this.cache.size >= this.cacheSize) this.cache.delete(this.cache.keys().next().value as string);
        this.cache.set(trimmed, probs);
      }
    }
    return applyImageContext(probs, trimmed, ctx, this.opts);
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

// The fast built-in intent classifier: weighted phrase rules over lemmas (no model server), with
// image context, a softmax to scores, and caches so a stream of growing partials stays cheap.
import type { IntentClassifier, IntentContext, IntentResult, LabelScore } from './classifier-port.ts';
import { INTENT_LABELS, LABEL_INFO, type IntentLabel } from './labels.ts';
import { RULES } from './rule-table.ts';
import { Lemmatizer } from './tokens.ts';

export interface RulesOptions {
  /** Softmax sharpness (higher: more confident top). */
  temperature?: number;
  /** Evidence subtracted from image-only labels when the session has no image. */
  noImagePenalty?: number;
  /** Results kept for repeated texts. */
  cacheSize?: number;
}

const QUESTION_START = new Set(['what', 'where', 'which', 'who', 'how', 'why', 'when', 'is', 'do', 'can', 'would', 'will', 'whose']);
const BASE_LOGIT = -1;
/** Chat's prior: lower when an image is present, since commands then usually target it. */
const CHAT_LOGIT = { image: 0, noImage: 0.5 };
const QUESTION_WITH_IMAGE = 1.6;
/** Extra penalty on image labels for a question asked with no image: it is about the world. */
const QUESTION_NO_IMAGE = 1;

const WARM_UP = ['segment the dog in this picture', 'what is in this image?', 'tell me a story about the sea', 'where are the cars', 'hello, how are you'];

export class RulesIntentClassifier implements IntentClassifier {
  readonly id = 'rules-v1';
  private readonly k: number;
  private readonly penalty: number;
  private readonly cacheSize: number;
  private readonly cache = new Map<string, IntentResult>();
  private readonly lemmatizer = new Lemmatizer();

  constructor(opts: RulesOptions = {}) {
    this.k = opts.temperature ?? 1.5;
    this.penalty = opts.noImagePenalty ?? 1.25;
    this.cacheSize = opts.cacheSize ?? 256;
  }

  /** Runs the classifier once on typical sentences and forgets the results: the NLP library builds
   *  its match machinery and the JIT compiles on first use (≈ 80 ms), which must not stall every
   *  live session during some user's first turn. The gateway calls this at boot. */
  warmUp(): void {
    for (const text of WARM_UP) {
      this.score(text, { hasImage: true });
      this.score(text, { hasImage: false });
    }
  }

  classify(text: string, ctx: IntentContext): IntentResult {
    const key = `${ctx.hasImage ? 1 : 0}${text}`;
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit;
    const result = this.score(text, ctx);
    if (this.cache.size >= this.cacheSize) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(key, result);
    return result;
  }

  private score(text: string, ctx: IntentContext): IntentResult {
    const lemmas = this.lemmatizer.lemmas(text);
    const joined = lemmas.join(' ');
    const evidence = new Map<IntentLabel, number>();
    for (const rule of RULES) {
      if (rule.re.test(joined)) evidence.set(rule.label, (evidence.get(rule.label) ?? 0) + rule.weight);
    }
    const question = text.trimEnd().endsWith('?') || QUESTION_START.has(lemmas[0] ?? '');
    if (question && ctx.hasImage) evidence.set('vqa', (evidence.get('vqa') ?? 0) + QUESTION_WITH_IMAGE);

    const logits = INTENT_LABELS.map((label) => {
      let e = evidence.get(label) ?? 0;
      if (!ctx.hasImage && LABEL_INFO[label].needsImage) e = Math.max(0, e - this.penalty - (question ? QUESTION_NO_IMAGE : 0));
      return (label === 'chat' ? (ctx.hasImage ? CHAT_LOGIT.image : CHAT_LOGIT.noImage) : BASE_LOGIT) + Math.min(e, 6);
    });
    const max = Math.max(...logits);
    const exps = logits.map((z) => Math.exp(this.k * (z - max)));
    const sum = exps.reduce((a, b) => a + b, 0);
    const labels: LabelScore[] = INTENT_LABELS.map((label, i) => ({
      label,
      // Rounded down so the scores never sum above 1.
      score: Math.floor((exps[i]! / sum) * 1e4) / 1e4,
    }));
    labels.sort((a, b) => b.score - a.score || INTENT_LABELS.indexOf(b.label) - INTENT_LABELS.indexOf(a.label));
    return { labels };
  }
}

/** Top label of a result (chat for an empty one). */
export function topLabel(result: IntentResult): IntentLabel {
  return result.labels[0]?.label ?? 'chat';
}

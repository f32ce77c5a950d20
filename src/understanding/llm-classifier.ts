// Intent classification by an LLM (Llama-2-chat) through TGI's native `POST /generate` with
// constrained output. The prompt lists the labels with their descriptions (marking those that need
// an image) and says whether the session holds an image; TGI's `parameters.grammar` forces the
// answer into shape:
//   json mode (default): {"type":"json","value":<JSON schema>} → {"label": "<one label>", "confidence": 0..1}
//   regex mode:          {"type":"regex","value":"(detect|segment|…)"} → the bare label
// `grammar` exists in TGI's router since v1.4.1 and is documented from v1.4.3 (guidance docs,
// "These feature are available starting from version 1.4.3"); a TGI without it ignores the field
// and answers prose, which this classifier rejects as UPSTREAM_PROTOCOL. The JSON schema has the
// top-level "properties" TGI ≥ 2.3 requires ("Grammar must have a 'properties' field").
//
// Decoding is greedy: do_sample false and no temperature — TGI treats any temperature, even a low
// one, as a request to sample (validation.rs: `sampling = do_sample || temperature.is_some()`).
// The answer is parsed strictly; anything else (cut at max_new_tokens, extra keys, an unknown label,
// a confidence outside [0, 1]) is UPSTREAM_PROTOCOL. The chosen label gets the returned confidence
// (regex mode: `regexConfidence`), the rest is spread evenly, then the image context is applied as
// for the other classifiers.
import { renderPrompt } from '../backends/prompt/index.ts';
import { createTgiGenerateClient, type TgiGenerateClient } from '../backends/tgi/index.ts';
import { VlpError } from '../../protocol/errors.ts';
import type { IntentClassifier, IntentContext, IntentResult } from './classifier-port.ts';
import { applyImageContext, chatOnly, type ImageContextOptions } from './image-context.ts';
import { INTENT_LABELS, LABEL_INFO, type IntentLabel } from './labels.ts';

export interface LlmClassifierOptions extends ImageContextOptions {
  /** TGI base URL (serving a Llama-2-chat model). */
  url: string;
  /** 'json' (label + confidence, default) or 'regex' (label only). */
  mode?: 'json' | 'regex';
  /** Labels offered (default every label). */
  labels?: readonly IntentLabel[];
  /** Generation cap (default 32: the JSON answer is about 20 Llama tokens). */
  maxNewTokens?: number;
  /** Confidence given to a regex-mode answer (default 0.8). */
  regexConfidence?: number;
  /** Whole round trip, ms (default 5000: prefill plus ~20 decode steps of a 7B model) → UPSTREAM_TIMEOUT. */
  timeoutMs?: number;
  /** Connect, ms (default 500) → UPSTREAM_UNAVAILABLE. */
  connectTimeoutMs?: number;
  maxConnections?: number;
  /** Answers kept per (text, image) (default 256; 0 = none). */
  cacheSize?: number;
}

const SCHEMA_VERSION = 'intent-v1';

/** Confidences the grammar allows: 0, 0.05, …, 1. An enum, because TGI's schema-to-regex step
 *  (outlines-core `parse_number_type`) ignores minimum/maximum: with a plain number a model could
 *  write 85 or 1.5 and the answer would fail the strict parse. */
export const CONFIDENCE_STEPS: readonly number[] = Array.from({ length: 21 }, (_, i) => Math.round(i * 5) / 100);

/** The JSON schema sent as the grammar. */
export function intentSchema(labels: readonly IntentLabel[]): Record<string, unknown> {
  return {
    title: SCHEMA_VERSION,
    type: 'object',
    properties: {
      label: { type: 'string', enum: [...labels] },
      confidence: { type: 'number', enum: [...CONFIDENCE_STEPS], minimum: 0, maximum: 1 },
    },
    required: ['label', 'confidence'],
    additionalProperties: false,
  };
}

/** The regex sent in regex mode: one of the labels, nothing else. */
export function intentRegex(labels: readonly IntentLabel[]): string {
  return `(${labels.join('|')})`;
}

/** System prompt: the labels with descriptions, the image situation, the answer format. */
export function systemPrompt(labels: readonly IntentLabel[], hasImage: boolean, mode: 'json' | 'regex'): string {
  const lines = labels.map((l) => `- ${l}${LABEL_INFO[l].needsImage ? ' (needs an image)' : ''}: ${LABEL_INFO[l].description}`);
  return [
    'You decide what the user of a voice-and-vision assistant wants done with their request. Pick exactly one label.',
    'Labels:',
    ...lines,
    hasImage
      ? 'The session has an image the user can refer to.'
      : 'The session has no image, so labels that need one are unlikely.',
    mode === 'json'
      ? 'Answer with JSON only: {"label": "<label>", "confidence": <number from 0 to 1>}.'
      : 'Answer with the label only.',
  ].join('\n');
}

const protocol = (what: string): VlpError => new VlpError('UPSTREAM_PROTOCOL', `TGI grammar-constrained answer: ${what}`);

export class LlmIntentClassifier implements IntentClassifier {
  readonly id: string;
  private readonly client: TgiGenerateClient;
  private readonly labels: readonly IntentLabel[];
  private readonly mode: 'json' | 'regex';
  private readonly grammar: { type: 'json'; value: Record<string, unknown> } | { type: 'regex'; value: string };
  private readonly maxNewTokens: number;
  private readonly regexConfidence: number;
  private readonly cacheSize: number;
  private readonly cache = new Map<string, { label: IntentLabel; confidence: number }>();

  constructor(private readonly opts: LlmClassifierOptions) {
    this.labels = opts.labels ?? INTENT_LABELS;
    if (this.labels.length < 2) throw new Error('llm classifier: needs at least two labels');
    this.mode = opts.mode ?? 'json';
    this.id = `llm-${this.mode}-v1`;
    this.grammar = this.mode === 'json' ? { type: 'json', value: intentSchema(this.labels) } : { type: 'regex', value: intentRegex(this.labels) };
    this.maxNewTokens = opts.maxNewTokens ?? 32;
    this.regexConfidence = opts.regexConfidence ?? 0.8;
    this.cacheSize = opts.cacheSize ?? 256;
    this.client = createTgiGenerateClient({
      url: opts.url,
      connectTimeoutMs: opts.connectTimeoutMs ?? 500,
      timeoutMs: opts.timeoutMs ?? 5000,
      ...(opts.maxConnections === undefined ? {} : { maxConnections: opts.maxConnections }),
    });
  }

  /** The rendered Llama-2-chat prompt for a text (exposed for tests and the benchmark). */
  prompt(text: string, hasImage: boolean): string {
    return renderPrompt(
      'llama2-chat',
      [
        { role: 'system', content: systemPrompt(this.labels, hasImage, this.mode) },
        { role: 'user', content: text },
      ],
      { bos: false },
    );
  }

  async classify(text: string, ctx: IntentContext): Promise<IntentResult> {
    const trimmed = text.trim();
    if (trimmed === '') return chatOnly();
    const key = `${ctx.hasImage ? 1 : 0}${trimmed}`;
    let answer = this.cache.get(key);
    if (answer === undefined) {
      const res = await this.client.generate(
        this.prompt(trimmed, ctx.hasImage),
        { max_new_tokens: this.maxNewTokens, do_sample: false, return_full_text: false, details: true, grammar: this.grammar },
        ctx.signal,
      );
      if (res.finishReason === 'length') throw protocol(`cut at max_new_tokens (${this.maxNewTokens})`);
      answer = this.parse(res.generatedText);
      if (this.cacheSize > 0) {
        if (this.cache.size >= this.cacheSize) this.cache.delete(this.cache.keys().next().value as string);
        this.cache.set(key, answer);
      }
    }
    const rest = (1 - answer.confidence) / (this.labels.length - 1);
    const probs = new Map<IntentLabel, number>(this.labels.map((l) => [l, l === answer.label ? answer.confidence : rest]));
    return applyImageContext(probs, trimmed, ctx, this.opts);
  }

  /** Strict parse of the constrained answer (never echoes it: it may quote the user). */
  parse(generated: string): { label: IntentLabel; confidence: number } {
    const text = generated.trim();
    const known = (l: unknown): l is IntentLabel => typeof l === 'string' && (this.labels as readonly string[]).includes(l);
    if (this.mode === 'regex') {
      if (!known(text)) throw protocol('not one of the labels');
      return { label: text, confidence: this.regexConfidence };
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw protocol('not JSON');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw protocol('not a JSON object');
    const keys = Object.keys(parsed);
    if (keys.length !== 2 || !keys.includes('label') || !keys.includes('confidence')) throw protocol('keys are not exactly label and confidence');
    const { label, confidence } = parsed as { label: unknown; confidence: unknown };
    if (!known(label)) throw protocol('label is not one of the labels');
    if (typeof confidence !== 'number' || !Number.isFinite(confidence) || confidence < 0 || confidence > 1) {
      throw protocol('confidence is not a number in [0, 1]');
    }
    return { label, confidence };
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

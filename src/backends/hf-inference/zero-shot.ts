// Client for a Hugging Face `zero-shot-classification` endpoint (an NLI model such as the seed's
// MoritzLaurer/mDeBERTa-v3-base-xnli-multilingual-nli-2mil7 behind HF Inference Endpoints, the
// huggingface-inference-toolkit, or the serverless Inference API).
//
// Wire format (sources read with the project's search tool):
// - Request: POST {"inputs": text, "parameters": {"candidate_labels": [...], "hypothesis_template":
//   "The topic is {}.", "multi_label": false}} — huggingface.js packages/tasks
//   src/tasks/zero-shot-classification/inference.ts (ZeroShotClassificationParameters:
//   candidate_labels, hypothesis_template, multi_label); the toolkit's handler.py passes
//   `parameters` to the pipeline as keyword arguments (huggingface-inference-toolkit
//   src/huggingface_inference_toolkit/handler.py); its webservice answers every handler exception
//   as HTTP 400 {"error": str(e)} (webservice_starlette.py).
// - Response, pipeline form: {"sequence": text, "labels": [...], "scores": [...]}, labels sorted by
//   score descending (transformers src/transformers/pipelines/zero_shot_classification.py
//   `postprocess`); huggingface.js inference src/tasks/nlp/zeroShotClassification.ts accepts it bare
//   or wrapped in an array (`toArray`).
// - Response, list form (newer HF Inference API / Inference Providers): [{"label": ..., "score": ...}]
//   (@huggingface/tasks ZeroShotClassificationOutput = ZeroShotClassificationOutputElement[];
//   hub-docs docs/api-inference/tasks/zero-shot-classification.md "Response").
// - Cold start (serverless API): 503 {"error":"Model <id> is currently loading","estimated_time":20.0}.
import { createUpstreamPool } from '../http/pool.ts';
import { postUnary } from '../http/unary.ts';
import { hfHttpError, hfProtocolError, hfTimeoutError, hfTransportError } from './errors.ts';

export interface HfZeroShotOptions {
  /** Full endpoint URL: the Inference Endpoint root, `…/predict`, or `…/models/<id>`. */
  url: string;
  /** Bearer token (HF Inference Endpoints / API); never logged. */
  token?: string;
  /** TCP (+TLS) connect timeout, ms → UPSTREAM_UNAVAILABLE. */
  connectTimeoutMs: number;
  /** Whole exchange (connect, headers, body), ms → UPSTREAM_TIMEOUT. */
  timeoutMs: number;
  /** Cap on sockets to this server (unset = unlimited). */
  maxConnections?: number;
  /** Largest answer read, bytes (default 64 KiB; ten labels take well under 2 KiB). */
  maxResponseBytes?: number;
}

export interface ZeroShotCall {
  text: string;
  candidateLabels: readonly string[];
  hypothesisTemplate: string;
  multiLabel?: boolean;
  signal?: AbortSignal | undefined;
}

export interface ZeroShotScore {
  label: string;
  score: number;
}

export interface HfZeroShotClient {
  /** Origin and path only, never the token. */
  readonly id: string;
  /** Scores per candidate, sorted descending as the server sent them. Throws VlpError (UPSTREAM_*)
   *  or an AbortError when `signal` aborted (the request is then closed upstream). */
  classify(call: ZeroShotCall): Promise<ZeroShotScore[]>;
  close(): Promise<void>;
}

const DEFAULT_MAX_RESPONSE = 64 * 1024;
/** Float noise allowed above 1 (float32 scores summed by softmax). */
const EPS = 1e-6;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isScore = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1 + EPS;

/** Parses either response form and checks it against the candidates sent: every label is one of
 *  them and appears once, every score is a probability. Throws UPSTREAM_PROTOCOL otherwise. */
export function parseZeroShotResponse(body: string, candidates: readonly string[]): ZeroShotScore[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    // The parse error is not attached: it quotes the body, which echoes the user's text.
    throw hfProtocolError('answer is not JSON');
  }
  let out: ZeroShotScore[];
  if (Array.isArray(parsed) && parsed.length > 0 && parsed.every((e) => isRecord(e) && 'label' in e)) {
    out = parsed.map((e) => {
      const { label, score } = e as { label: unknown; score: unknown };
      if (typeof label !== 'string' || !isScore(score)) throw hfProtocolError('a list entry is not {label: string, score: probability}');
      return { label, score };
    });
  } else {
    const one = Array.isArray(parsed) && parsed.length === 1 ? parsed[0] : parsed;
    if (!isRecord(one) || !Array.isArray(one.labels) || !Array.isArray(one.scores)) {
      throw hfProtocolError('answer is neither {sequence, labels, scores} nor [{label, score}]');
    }
    const { labels, scores } = one;
    if (labels.length !== scores.length) throw hfProtocolError('labels and scores differ in length');
    out = labels.map((label, i) => {
      const score = scores[i];
      if (typeof label !== 'string' || !isScore(score)) throw hfProtocolError('a label is not a string or a score not a probability');
      return { label, score };
    });
  }
  const known = new Set(candidates);
  const seen = new Set<string>();
  for (const { label } of out) {
    if (!known.has(label)) throw hfProtocolError('answer names a label that was not a candidate');
    if (seen.has(label)) throw hfProtocolError('answer names a label twice');
    seen.add(label);
  }
  return out;
}

export function createHfZeroShotClient(opts: HfZeroShotOptions): HfZeroShotClient {
  const target = new URL(opts.url);
  const path = `${target.pathname}${target.search}` || '/';
  const pool = createUpstreamPool(target.origin, { connectTimeoutMs: opts.connectTimeoutMs, maxConnections: opts.maxConnections });
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
  const maxBytes = opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE;
  const errors = { timeout: hfTimeoutError, transport: hfTransportError };

  return {
    id: `hf-zero-shot:${target.origin}${target.pathname.replace(/\/+$/, '')}`,
    classify: async (call) => {
      const body = JSON.stringify({
        inputs: call.text,
        parameters: {
          candidate_labels: call.candidateLabels,
          hypothesis_template: call.hypothesisTemplate,
          multi_label: call.multiLabel ?? false,
        },
      });
      const res = await postUnary(pool, { path, body, headers, timeoutMs: opts.timeoutMs, maxBytes, signal: call.signal }, errors);
      if (res.status !== 200) throw hfHttpError(res.status, res.headers['retry-after'], res.body.toString('utf8'));
      if (res.truncated) throw hfProtocolError(`answer larger than ${maxBytes} bytes`);
      return parseZeroShotResponse(res.body.toString('utf8'), call.candidateLabels);
    },
    close: () => pool.close(),
  };
}

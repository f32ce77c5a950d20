// The simulated zero-shot-classification server: the wire format of a Hugging Face
// `zero-shot-classification` pipeline served by HF Inference Endpoints (huggingface-inference-toolkit:
// POST / or /predict, errors as HTTP 400 {"error": str(e)}) and by the serverless Inference API
// (POST /models/<id>; cold start 503 {"error":"Model <id> is currently loading","estimated_time":20.0}).
//
// Request: {"inputs": str | [str], "parameters": {"candidate_labels": [...] | "a,b",
//           "hypothesis_template": "This example is {}.", "multi_label": false}}
// Answer ('pipeline' format, transformers ZeroShotClassificationPipeline.postprocess):
//           {"sequence": str, "labels": [...], "scores": [...]}, labels sorted by score descending
//           (a list of these for a list of inputs); 'list' format (newer HF Inference API,
//           @huggingface/tasks ZeroShotClassificationOutput): [{"label": str, "score": num}, ...].
// Scores come from the deterministic keyword-concept scorer in ../intent-scorer.ts: softmax over
// the candidates (multi_label: an independent sigmoid per candidate). Latency is a base cost plus
// a per-label cost (one NLI pass per label), jittered per input, behind a FIFO of `workers` slots.
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenHttp } from '../http-listen.ts';
import { fnv1a, mulberry32, type Rand } from '../random.ts';
import { scoreCandidates, softmax } from '../intent-scorer.ts';
import {
  ZERO_SHOT_FAULTS,
  type ZeroShotFaultKind,
  type ZeroShotSim,
  type ZeroShotSimEvents,
  type ZeroShotSimOptions,
} from './types.ts';

export const DEFAULT_ZERO_SHOT_MODEL = 'MoritzLaurer/mDeBERTa-v3-base-xnli-multilingual-nli-2mil7';
/** The pipeline's default template (transformers zero_shot_classification.py `preprocess`). */
const DEFAULT_TEMPLATE = 'This example is {}.';

interface Resolved {
  host: string;
  port: number;
  modelId: string;
  format: 'pipeline' | 'list';
  baseMs: number;
  perLabelMs: number;
  jitter: number;
  workers: number;
  sharpness: number;
  loadingMs: number;
  estimatedTimeS: number;
  payloadLimit: number;
}

function resolve(o: ZeroShotSimOptions): Resolved {
  const nonNeg = (v: number | undefined, d: number): number => (v === undefined || !Number.isFinite(v) ? d : Math.max(0, v));
  return {
    host: o.host ?? '127.0.0.1',
    port: o.port ?? 0,
    modelId: o.modelId ?? DEFAULT_ZERO_SHOT_MODEL,
    format: o.format ?? 'pipeline',
    baseMs: nonNeg(o.latency?.baseMs, 8),
    perLabelMs: nonNeg(o.latency?.perLabelMs, 2.5),
    jitter: Math.min(1, nonNeg(o.latency?.jitter, 0.25)),
    workers: Math.max(1, Math.floor(o.workers ?? 1)),
    sharpness: nonNeg(o.sharpness, 1.2),
    loadingMs: nonNeg(o.loadingMs, 0),
    estimatedTimeS: nonNeg(o.estimatedTimeS, 20),
    payloadLimit: Math.max(1, Math.floor(o.payloadLimit ?? 1_000_000)),
  };
}

// ---------------------------------------------------------------------------------------------
// Faults

const DIRECTIVE = /\[\[sim:fault=([a-z0-9_]+)\]\]/;
const DIRECTIVES = /\[\[sim:[^\]]*\]\]/g;

function isFault(v: string | undefined): v is ZeroShotFaultKind {
  return v !== undefined && (ZERO_SHOT_FAULTS as readonly string[]).includes(v);
}

class Faults {
  private readonly queue: { kind: ZeroShotFaultKind; remaining: number }[] = [];
  private readonly rand: Rand;

  constructor(private readonly probabilities: Partial<Record<ZeroShotFaultKind, number>> = {}, seed?: number) {
    this.rand = seed === undefined ? Math.random : mulberry32(seed);
  }

  enqueue(kind: ZeroShotFaultKind, count: number): void {
    if (count > 0) this.queue.push({ kind, remaining: Math.floor(count) });
  }

  pick(texts: readonly string[]): ZeroShotFaultKind | null {
    for (const t of texts) {
      const m = t.includes('[[sim:') ? DIRECTIVE.exec(t) : null;
      if (m && isFault(m[1])) return m[1];
    }
    const head = this.queue[0];
    if (head) {
      head.remaining -= 1;
      if (head.remaining <= 0) this.queue.shift();
      return head.kind;
    }
    for (const kind of ZERO_SHOT_FAULTS) {
      const p = this.probabilities[kind];
      if (p !== undefined && p > 0 && this.rand() < p) return kind;
    }
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP helpers

function send(res: ServerResponse, status: number, body: string, type = 'application/json'): void {
  if (res.destroyed) return;
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

const errorBody = (message: string): string => JSON.stringify({ error: message });

/** A Python float as json/orjson write it: integral values keep ".0". */
function pyFloat(x: number): string {
  return Number.isInteger(x) ? x.toFixed(1) : String(x);
}

/** A Python repr-ish rendering of a parsed body, for the toolkit's "recieved: b'…'" message. */
function pyBytes(value: unknown): string {
  return `b'${JSON.stringify(value)}'`;
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) over = true;
      else chunks.push(c);
    });
    req.once('end', () => resolveBody(over ? null : Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

// ---------------------------------------------------------------------------------------------
// The pipeline

interface Parsed {
  sequences: string[];
  single: boolean;
  labels: string[];
  template: string;
  multiLabel: boolean;
}

type ParseResult = { ok: true; value: Parsed } | { ok: false; status: number; message: string };

const PY_TYPE: Record<string, string> = { number: 'int', boolean: 'bool', object: 'dict' };

/** Validation in the order the toolkit and the pipeline run it, with their exception texts. */
function parseRequest(raw: unknown): ParseResult {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || !('inputs' in raw)) {
    return { ok: false, status: 400, message: `Body needs to provide a inputs key, recieved: ${pyBytes(raw)}` };
  }
  const body = raw as { inputs: unknown; parameters?: unknown };
  const params = (body.parameters ?? {}) as Record<string, unknown>;
  if (typeof params !== 'object' || params === null || Array.isArray(params)) {
    return { ok: false, status: 400, message: `argument after ** must be a mapping, not ${typeof params === 'string' ? 'str' : 'list'}` };
  }
  let labelsRaw = params.candidate_labels ?? params.candidateLabels ?? null;
  if (typeof labelsRaw === 'string') labelsRaw = labelsRaw.split(',').map((l) => l.trim()).filter((l) => l.length > 0);
  if (labelsRaw === null) return { ok: false, status: 400, message: "object of type 'NoneType' has no len()" };
  if (!Array.isArray(labelsRaw) || labelsRaw.some((l) => typeof l !== 'string')) {
    const t = Array.isArray(labelsRaw) ? 'list' : (PY_TYPE[typeof labelsRaw] ?? 'object');
    return { ok: false, status: 400, message: `candidate_labels must be a list of strings, got ${t}` };
  }
  const labels = labelsRaw as string[];
  const inputs = body.inputs;
  const single = typeof inputs === 'string';
  if (!single && !(Array.isArray(inputs) && inputs.every((s) => typeof s === 'string'))) {
    return { ok: false, status: 400, message: `inputs must be a string or a list of strings, got ${PY_TYPE[typeof inputs] ?? 'NoneType'}` };
  }
  const sequences = single ? [inputs] : (inputs as string[]);
  if (labels.length === 0 || sequences.length === 0 || (single && inputs.length === 0)) {
    return { ok: false, status: 400, message: 'You must include at least one label and at least one sequence.' };
  }
  const template = typeof params.hypothesis_template === 'string' ? params.hypothesis_template : DEFAULT_TEMPLATE;
  if (!template.includes('{}') && !template.includes('{0}')) {
    return {
      ok: false,
      status: 400,
      message:
        `The provided hypothesis_template "${template}" was not able to be formatted with the target labels. ` +
        'Make sure the passed template includes formatting syntax such as {} where the label should go.',
    };
  }
  const multiLabel = params.multi_label === true || params.multi_class === true;
  return { ok: true, value: { sequences, single, labels, template, multiLabel } };
}

interface Ranked {
  labels: string[];
  scores: number[];
}

/** Scores for one sequence, sorted descending (ties: the later candidate first, as numpy's
 *  reversed argsort does). Scores are float32 values, like the pipeline's `.tolist()`. */
function classifyOne(text: string, p: Parsed, sharpness: number): Ranked {
  const clean = text.includes('[[sim:') ? text.replace(DIRECTIVES, ' ') : text;
  const evidence = scoreCandidates(clean, p.labels);
  const probs =
    p.multiLabel || p.labels.length === 1
      ? evidence.map((e) => 1 / (1 + Math.exp(-sharpness * (e - 1.5))))
      : softmax(evidence, sharpness);
  const order = probs.map((_, i) => i).sort((a, b) => (probs[b] as number) - (probs[a] as number) || b - a);
  return { labels: order.map((i) => p.labels[i] as string), scores: order.map((i) => Math.fround(probs[i] as number)) };
}

function renderPipeline(sequence: string, r: Ranked): string {
  return `{"sequence":${JSON.stringify(sequence)},"labels":${JSON.stringify(r.labels)},"scores":[${r.scores.map(pyFloat).join(',')}]}`;
}

function renderList(r: Ranked): string {
  return `[${r.labels.map((l, i) => `{"label":${JSON.stringify(l)},"score":${pyFloat(r.scores[i] as number)}}`).join(',')}]`;
}

// ---------------------------------------------------------------------------------------------
// Server

interface Job {
  serviceMs: number;
  start(): void;
  cancelled: boolean;
}

/** Start a simulated zero-shot-classification server. */
export async function startZeroShotSim(options: ZeroShotSimOptions = {}): Promise<ZeroShotSim> {
  const o = resolve(options);
  const events = new EventEmitter<ZeroShotSimEvents>();
  const faults = new Faults(options.faults?.probabilities, options.faults?.seed);
  const startedAt = performance.now();
  const queue: Job[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let busy = 0;
  let nextId = 1;
  let inFlight = 0;

  const later = (ms: number, fn: () => void): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };
  const pump = (): void => {
    while (busy < o.workers && queue.length > 0) {
      const job = queue.shift() as Job;
      if (job.cancelled) continue;
      busy++;
      later(job.serviceMs, () => {
        busy--;
        job.start();
        pump();
      });
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> => {
    const id = nextId++;
    let completed = false;
    res.on('close', () => events.emit('request-closed', { id, completed, atMs: performance.now() }));
    const reply = (status: number, body: string): void => {
      completed = true;
      send(res, status, body);
    };
    const body = await readBody(req, o.payloadLimit);
    if (body === null) return reply(413, errorBody('Payload Too Large'));
    let raw: unknown;
    try {
      raw = JSON.parse(body.toString('utf8'));
    } catch (err) {
      return reply(400, errorBody(err instanceof Error ? err.message : 'invalid JSON'));
    }
    const parsed = parseRequest(raw);
    if (!parsed.ok) return reply(parsed.status, errorBody(parsed.message));
    const p = parsed.value;
    const fault = faults.pick(p.sequences);
    events.emit('request', {
      id,
      path,
      sequences: p.sequences.length,
      candidateLabels: p.labels,
      hypothesisTemplate: p.template,
      multiLabel: p.multiLabel,
      fault,
    });
    if (fault === 'loading_503' || performance.now() - startedAt < o.loadingMs) {
      return reply(503, `{"error":${JSON.stringify(`Model ${o.modelId} is currently loading`)},"estimated_time":${pyFloat(o.estimatedTimeS)}}`);
    }
    if (fault === 'overloaded_429') return reply(429, errorBody('Rate limit reached. Please retry later.'));

    const rand = mulberry32(fnv1a(p.sequences.join('\u0000')));
    const pairs = p.sequences.length * p.labels.length;
    const jitter = 1 + (rand() * 2 - 1) * o.jitter;
    const serviceMs = (o.baseMs + o.perLabelMs * pairs) * jitter * (fault === 'slow' ? 10 : 1);
    inFlight++;
    let done = false;
    const finish = (): void => {
      if (!done) {
        done = true;
        inFlight--;
      }
    };
    const job: Job = {
      serviceMs,
      cancelled: false,
      start: () => {
        finish();
        if (res.destroyed) return;
        switch (fault) {
          case 'error_500':
            return reply(500, errorBody('CUDA out of memory. Tried to allocate 20.00 MiB (GPU 0; 14.75 GiB total capacity)'));
          case 'reset':
            res.socket?.destroy();
            return;
          case 'stall':
            return; // holds the socket until the client gives up
          case 'malformed':
            return reply(200, `{"sequence":${JSON.stringify(p.sequences[0])},"labels":["`);
          case 'bad_shape':
            return reply(200, `{"sequence":${JSON.stringify(p.sequences[0])},"labels":${JSON.stringify(p.labels)},"scores":[0.5]}`);
          case 'oversize':
            return reply(200, `{"sequence":${JSON.stringify('x'.repeat(4 * 1024 * 1024))},"labels":[],"scores":[]}`);
        }
        const results = p.sequences.map((s) => ({ s, r: classifyOne(s, p, o.sharpness) }));
        const rendered = results.map(({ s, r }) => (o.format === 'list' ? renderList(r) : renderPipeline(s, r)));
        reply(200, p.single ? (rendered[0] as string) : `[${rendered.join(',')}]`);
      },
    };
    res.on('close', () => {
      if (!completed) {
        job.cancelled = true;
        finish();
      }
    });
    queue.push(job);
    pump();
  };

  const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const method = req.method ?? 'GET';
    const predictPath = path === '/' || path === '/predict' || path.startsWith('/models/');
    const healthPath = path === '/' || path === '/health';
    if (method === 'POST' && predictPath) {
      handle(req, res, path).catch((err: unknown) => {
        if (!res.headersSent) send(res, 500, errorBody(err instanceof Error ? err.message : String(err)));
        else res.destroy();
      });
      return;
    }
    if ((method === 'GET' || method === 'HEAD') && healthPath) return send(res, 200, 'Ok', 'text/plain; charset=utf-8');
    if (predictPath || healthPath) return send(res, 405, 'Method Not Allowed', 'text/plain; charset=utf-8');
    return send(res, 404, 'Not Found', 'text/plain; charset=utf-8');
  });
  const listening = await listenHttp(server, o.host, o.port, {
    beforeClose: () => {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      queue.length = 0;
    },
  });
  return {
    url: listening.url,
    port: listening.port,
    modelId: o.modelId,
    events,
    injectFault: (kind, count = 1) => faults.enqueue(kind, count),
    inFlight: () => inFlight,
    close: listening.close,
  };
}

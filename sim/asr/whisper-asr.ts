// Simulated whisper-asr-webservice (ahmetoner/whisper-asr-webservice, FastAPI on uvicorn), speaking
// its HTTP API (shared/reference/backend-protocols.md §6): POST /asr (multipart `audio_file`, options
// in the query, text/plain response in txt/vtt/srt/tsv/json), POST /detect-language, GET / → /docs.
// SIMULATED: no model; the text comes from the clip book. Validation follows FastAPI + pydantic v2:
// booleans and integers in the query are parsed (422 on failure), but the `enum=` lists of the
// service's Query() declarations are schema-only, so an unknown `output` falls back to txt, an
// unknown `task` behaves as translate (openai_whisper) or fails (faster_whisper, 500), and an
// unknown `language` fails with 500 — as the real service does. `strictEnums: true` rejects them
// with 422 instead (what a reader of the OpenAPI schema would expect).
//
// The real service runs one transcription at a time (its async endpoint calls the blocking model,
// which also holds a lock), so requests queue: `concurrency` (default 1). Unlike the real one, the
// simulator stops the work when the client goes away (a 'request-closed' event reports it).
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { fnv1a, mulberry32, type Rand } from '../random.ts';
import { readBody } from '../tgi/http.ts';
import { engineResult, writeOutput, type AsrEngine } from './asr-output.ts';
import { loadClipBook, pseudoProb, type ClipBook, type Transcription } from './clip-book.ts';
import { decodeAudio, DecodeError } from './decode.ts';
import { isWhisperLanguageCode, resolveWhisperLanguage, WHISPER_LANGUAGES } from './languages.ts';
import { pyFloat } from './pyjson.ts';
import { ASR_RATE, s16leToInt16, WavError } from './wav.ts';

export const WHISPER_ASR_ADMIN_PATH = '/__sim/faults';

export const WHISPER_ASR_FAULT_KINDS = [
  'error_500', // after the base latency: 500 "Internal Server Error" (an exception in the model, e.g. CUDA OOM)
  'slow', // latency × slowFactor (10)
  'reset', // after half the latency the TCP connection is destroyed, no response
  'stall', // no response until the client goes away
] as const;
export type WhisperAsrFaultKind = (typeof WHISPER_ASR_FAULT_KINDS)[number];

export interface AsrLatency {
  /** Fixed cost per request (upload, mel, decoder start), ms. */
  baseMs: number;
  /** Cost per second of audio, ms (whisper-large-v3 fp16 on an A10G-class GPU decodes ~25× real time). */
  perAudioSecondMs: number;
  /** Uniform jitter fraction. */
  jitter: number;
}

export const DEFAULT_ASR_LATENCY: AsrLatency = { baseMs: 150, perAudioSecondMs: 40, jitter: 0.2 };

export function asrDelayMs(l: AsrLatency, audioSec: number, rand: Rand): number {
  const ms = l.baseMs + l.perAudioSecondMs * audioSec;
  return l.jitter === 0 ? ms : ms * (1 + (rand() * 2 - 1) * l.jitter);
}

export interface WhisperAsrSimOptions extends Partial<AsrLatency> {
  host?: string;
  /** Default 0 (ephemeral); the real service listens on 9000. */
  port?: number;
  /** ASR_ENGINE (default openai_whisper, the service's default): output writers, JSON shape,
   *  `Asr-Engine` header, language/task validation. */
  engine?: AsrEngine;
  /** Transcriptions running at once (default 1, like the real service); others wait in line. */
  concurrency?: number;
  /** Reject unknown `task`/`language`/`output` values with 422 (the real service does not). */
  strictEnums?: boolean;
  /** ffmpeg for non-WAV uploads with encode=true (default "ffmpeg"; false: such uploads fail with 500). */
  ffmpeg?: string | false;
  /** A fault for every request (the admin queue wins when it has one). */
  fault?: WhisperAsrFaultKind;
  /** Latency multiplier of the `slow` fault (default 10). */
  slowFactor?: number;
  clipBook?: ClipBook;
  seed?: number;
}

export type WhisperAsrRoute = 'asr' | 'detect-language';

export interface WhisperAsrRequestEvent {
  id: number;
  route: WhisperAsrRoute;
  /** Query as sent (last value of each key). */
  query: Record<string, string>;
  filename: string | null;
  audioBytes: number;
  audioMs: number;
  fault: WhisperAsrFaultKind | null;
}

export interface WhisperAsrRequestClosedEvent {
  id: number;
  route: WhisperAsrRoute | 'other';
  /** performance.now() when the response closed. */
  atMs: number;
  /** The response was sent in full (any status). False: the client left first, or a reset fault. */
  completed: boolean;
  status: number | null;
}

export interface WhisperAsrSimEvents {
  request: [WhisperAsrRequestEvent];
  'request-closed': [WhisperAsrRequestClosedEvent];
}

export interface WhisperAsrStats {
  requests: number;
  completed: number;
  aborted: number;
  /** Transcribing now / waiting for the model. */
  running: number;
  queued: number;
}

export interface WhisperAsrSim {
  /** http://host:port */
  url: string;
  port: number;
  engine: AsrEngine;
  events: EventEmitter<WhisperAsrSimEvents>;
  stats(): WhisperAsrStats;
  queueFault(kind: WhisperAsrFaultKind, count?: number): void;
  clearFaults(): number;
  close(): Promise<void>;
}

/** FastAPI's HTTPException / RequestValidationError bodies (compact JSON, non-ASCII kept). */
function sendFastApiJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { server: 'uvicorn', 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function sendInternalError(res: ServerResponse): void {
  const body = 'Internal Server Error';
  res.writeHead(500, { server: 'uvicorn', 'content-type': 'text/plain; charset=utf-8', 'content-length': body.length });
  res.end(body);
}

/** Python's urllib.parse.quote(s) (safe="/"). */
export function pyQuote(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9_.~/-]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

const TRUE = new Set(['1', 'on', 't', 'true', 'y', 'yes']);
const FALSE = new Set(['0', 'off', 'f', 'false', 'n', 'no']);

interface FieldError {
  type: string;
  loc: (string | number)[];
  msg: string;
  input: unknown;
  ctx?: Record<string, unknown>;
}

interface Work {
  start(): void;
  cancel(): void;
  started: boolean;
}

/** A line of work in front of the model, `concurrency` at a time. */
class ModelLine {
  running = 0;
  readonly waiting: Work[] = [];
  constructor(readonly concurrency: number) {}

  /** Run `ms` of model time; resolves true when done, false when cancelled by `signal`. */
  run(ms: number, signal: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const work: Work = {
        started: false,
        start: () => {
          work.started = true;
          this.running++;
          timer = setTimeout(() => {
            signal.removeEventListener('abort', onAbort);
            this.release();
            resolve(true);
          }, ms);
        },
        cancel: () => {
          if (work.started) {
            clearTimeout(timer);
            this.release();
          } else {
            const i = this.waiting.indexOf(work);
            if (i >= 0) this.waiting.splice(i, 1);
          }
          resolve(false);
        },
      };
      const onAbort = (): void => work.cancel();
      if (signal.aborted) return resolve(false);
      signal.addEventListener('abort', onAbort, { once: true });
      if (this.running < this.concurrency) work.start();
      else this.waiting.push(work);
    });
  }

  private release(): void {
    this.running--;
    const next = this.waiting.shift();
    if (next) next.start();
  }
}

interface Ctx {
  engine: AsrEngine;
  latency: AsrLatency;
  slowFactor: number;
  strictEnums: boolean;
  ffmpeg: string | false;
  book: ClipBook;
  line: ModelLine;
  events: EventEmitter<WhisperAsrSimEvents>;
  stats: { requests: number; completed: number; aborted: number };
  defaultFault: WhisperAsrFaultKind | undefined;
  queue: { kind: WhisperAsrFaultKind; remaining: number }[];
  seed: number;
  nextId: number;
}

interface Parsed {
  query: Record<string, string>;
  file: { bytes: Uint8Array; filename: string | null };
  encode: boolean;
  task: string;
  language: string | null;
  output: string;
  wordTimestamps: boolean;
}

function lastValues(url: URL): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of url.searchParams) out[k] = v; // Starlette's QueryParams: the last value wins
  return out;
}

/** Read and validate a request the way FastAPI would; answers and returns undefined on failure. */
async function parseRequest(ctx: Ctx, req: IncomingMessage, res: ServerResponse, route: WhisperAsrRoute): Promise<Parsed | undefined> {
  const url = new URL(req.url ?? '/', 'http://x');
  const query = lastValues(url);
  const body = await readBody(req, 1 << 30);
  if (body === null) {
    sendFastApiJson(res, 413, { detail: 'Request body too large (SIMULATED limit 1 GiB)' });
    return undefined;
  }
  // The form is read before parameters are validated; a malformed multipart body is a 400.
  let file: { bytes: Uint8Array; filename: string | null } | undefined;
  let fieldValue: string | undefined;
  const ctype = (req.headers['content-type'] ?? '').toLowerCase();
  if (ctype.startsWith('multipart/form-data') || ctype.startsWith('application/x-www-form-urlencoded')) {
    try {
      const form = await new Response(body, { headers: { 'content-type': req.headers['content-type'] ?? '' } }).formData();
      const v = form.get('audio_file');
      if (v !== null && typeof v !== 'string') file = { bytes: new Uint8Array(await v.arrayBuffer()), filename: v.name };
      else if (typeof v === 'string') fieldValue = v;
    } catch {
      sendFastApiJson(res, 400, { detail: 'There was an error parsing the body' });
      return undefined;
    }
  }
  const errors: FieldError[] = [];
  const bool = (name: string, dflt: boolean): boolean => {
    const raw = query[name];
    if (raw === undefined) return dflt;
    const v = raw.trim().toLowerCase();
    if (TRUE.has(v)) return true;
    if (FALSE.has(v)) return false;
    errors.push({ type: 'bool_parsing', loc: ['query', name], msg: 'Input should be a valid boolean, unable to interpret input', input: raw });
    return dflt;
  };
  const int = (name: string): void => {
    const raw = query[name];
    if (raw !== undefined && !/^\s*[+-]?\d+(_\d+)*\s*$/.test(raw)) {
      errors.push({ type: 'int_parsing', loc: ['query', name], msg: 'Input should be a valid integer, unable to parse string as an integer', input: raw });
    }
  };
  const literal = (name: string, allowed: readonly string[]): void => {
    const raw = query[name];
    if (!ctx.strictEnums || raw === undefined || allowed.includes(raw)) return;
    const expected = allowed.length === 1 ? `'${allowed[0]}'` : `${allowed.slice(0, -1).map((a) => `'${a}'`).join(', ')} or '${allowed[allowed.length - 1]}'`;
    errors.push({ type: 'literal_error', loc: ['query', name], msg: `Input should be ${expected}`, input: raw, ctx: { expected } });
  };
  // Declaration order of the service's endpoint parameters (query first, then the body).
  const encode = bool('encode', true);
  let wordTimestamps = false;
  if (route === 'asr') {
    literal('task', ['transcribe', 'translate']);
    literal('language', Object.keys(WHISPER_LANGUAGES).sort());
    bool('vad_filter', false);
    wordTimestamps = bool('word_timestamps', false);
    bool('diarize', false);
    int('min_speakers');
    int('max_speakers');
    literal('output', ['txt', 'vtt', 'srt', 'tsv', 'json']);
  }
  if (file === undefined) {
    if (fieldValue !== undefined) {
      errors.push({ type: 'value_error', loc: ['body', 'audio_file'], msg: "Value error, Expected UploadFile, received: <class 'str'>", input: fieldValue, ctx: { error: {} } });
    } else {
      errors.push({ type: 'missing', loc: ['body', 'audio_file'], msg: 'Field required', input: null });
    }
  }
  if (errors.length > 0 || file === undefined) {
    sendFastApiJson(res, 422, { detail: errors });
    return undefined;
  }
  return {
    query,
    file,
    encode,
    task: query.task ?? 'transcribe',
    language: query.language === undefined || query.language === '' ? null : query.language,
    output: query.output ?? 'txt',
    wordTimestamps,
  };
}

function pickFault(ctx: Ctx): WhisperAsrFaultKind | undefined {
  const head = ctx.queue[0];
  if (head !== undefined) {
    if (--head.remaining <= 0) ctx.queue.shift();
    return head.kind;
  }
  return ctx.defaultFault;
}

async function handle(ctx: Ctx, route: WhisperAsrRoute, id: number, req: IncomingMessage, res: ServerResponse, gone: AbortSignal): Promise<void> {
  const p = await parseRequest(ctx, req, res, route);
  if (p === undefined || gone.aborted) return;
  // load_audio(): ffmpeg (encode=true) or raw s16le (encode=false); failures are 500s.
  let samples: Float32Array | Int16Array;
  try {
    samples = p.encode ? await decodeAudio(p.file.bytes, { ffmpeg: ctx.ffmpeg, signal: gone }) : s16leToInt16(p.file.bytes);
  } catch (err) {
    if (gone.aborted) return;
    if (err instanceof DecodeError || err instanceof WavError) return sendInternalError(res);
    throw err;
  }
  if (route === 'detect-language') samples = samples.subarray(0, 30 * ASR_RATE);
  const audioSec = samples.length / ASR_RATE;
  const fault = pickFault(ctx);
  ctx.events.emit('request', { id, route, query: p.query, filename: p.file.filename, audioBytes: p.file.bytes.length, audioMs: Math.round(audioSec * 1000), fault: fault ?? null });
  const rand = mulberry32(fnv1a(`${id}`, ctx.seed >>> 0));
  // Detecting the language costs one 30 s window's encoder pass, whatever the length.
  let ms = route === 'asr' ? asrDelayMs(ctx.latency, audioSec, rand) : asrDelayMs({ ...ctx.latency, perAudioSecondMs: 0 }, 0, rand);
  if (fault === 'slow') ms *= ctx.slowFactor;
  if (fault === 'stall') ms = 2_147_483_647;
  if (fault === 'error_500') ms = asrDelayMs({ ...ctx.latency, perAudioSecondMs: 0 }, 0, rand);
  if (fault === 'reset') ms /= 2;
  const done = await ctx.line.run(ms, gone);
  if (!done) return;
  if (fault === 'reset') return void res.destroy();
  if (fault === 'error_500') return sendInternalError(res);

  // Engine-side validation of what the query did not check (the enum lists are schema-only).
  const engine = ctx.engine;
  let language: string | undefined;
  if (route === 'asr' && p.language !== null) {
    const code = engine === 'openai_whisper' ? resolveWhisperLanguage(p.language) : isWhisperLanguageCode(p.language) ? p.language : undefined;
    if (code === undefined) return sendInternalError(res); // ValueError: Unsupported language / not a valid language code
    language = code;
  }
  if (route === 'asr' && engine === 'faster_whisper' && p.task !== 'transcribe' && p.task !== 'translate') return sendInternalError(res);
  // openai-whisper picks <|transcribe|> only for "transcribe"; anything else decodes as translate.
  const task = p.task === 'transcribe' ? 'transcribe' : 'translate';
  const t: Transcription = ctx.book.transcribe(samples, language === undefined ? { task } : { task, language });

  if (route === 'detect-language') {
    const code = t.segments.length > 0 ? t.language : 'en';
    const p0 = t.segments.length > 0 ? t.languageProbability : Math.round(pseudoProb(`silence:${id}`, 0.35, 0.6) * 1e4) / 1e4;
    // openai_whisper engine bug: probs[max(probs)] is the probability of the last code ("zh").
    const confidence = engine === 'openai_whisper' && code !== 'zh' ? Math.round(pseudoProb(`zh:${id}`, 1e-4, 2e-3) * 1e8) / 1e8 : p0;
    const text = `{"detected_language":${JSON.stringify(WHISPER_LANGUAGES[code] ?? code)},"language_code":${JSON.stringify(code)},"confidence":${pyFloat(confidence)}}`;
    res.writeHead(200, { server: 'uvicorn', 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
    return;
  }
  const body = writeOutput(engine, engineResult(t, p.wordTimestamps), p.output);
  if (p.file.filename === null) return sendInternalError(res); // quote(None) raises
  // StreamingResponse over the StringIO: one chunk per line, no Content-Length.
  res.writeHead(200, {
    server: 'uvicorn',
    'content-type': 'text/plain; charset=utf-8',
    'asr-engine': engine,
    'content-disposition': `attachment; filename="${pyQuote(p.file.filename)}.${p.output}"`,
  });
  for (const line of body.match(/[^\n]*\n|[^\n]+$/g) ?? []) res.write(line);
  res.end();
}

const DOCS_HTML =
  '<!DOCTYPE html>\n<html>\n<head>\n<title>Whisper Asr Webservice - Swagger UI</title>\n</head>\n<body>\n<div id="swagger-ui"></div>\n<!-- SIMULATED whisper-asr-webservice: no Swagger UI here -->\n</body>\n</html>\n';

function openapi(engine: AsrEngine): string {
  return JSON.stringify({
    openapi: '3.1.0',
    info: { title: 'Whisper Asr Webservice', description: `SIMULATED whisper-asr-webservice (${engine}); see sim/README.md`, version: '1.10.0-sim' },
    paths: { '/asr': { post: { tags: ['Endpoints'], summary: 'Asr' } }, '/detect-language': { post: { tags: ['Endpoints'], summary: 'Detect Language' } } },
  });
}

async function admin(ctx: Ctx, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const list = (): unknown => ctx.queue.map((q) => ({ kind: q.kind, remaining: q.remaining }));
  if (req.method === 'GET') return sendFastApiJson(res, 200, { queued: list() });
  if (req.method === 'DELETE') {
    const n = ctx.queue.reduce((a, q) => a + q.remaining, 0);
    ctx.queue.length = 0;
    return sendFastApiJson(res, 200, { cleared: n });
  }
  if (req.method !== 'POST') return sendFastApiJson(res, 405, { detail: 'Method Not Allowed' }, { allow: 'GET, POST, DELETE' });
  const body = await readBody(req, 65_536);
  let parsed: unknown;
  try {
    parsed = JSON.parse((body ?? Buffer.alloc(0)).toString('utf8'));
  } catch {
    return sendFastApiJson(res, 400, { error: 'body must be JSON: {"kind": "...", "count": 1}', kinds: WHISPER_ASR_FAULT_KINDS });
  }
  const { kind, count } = (parsed ?? {}) as { kind?: unknown; count?: unknown };
  if (typeof kind !== 'string' || !(WHISPER_ASR_FAULT_KINDS as readonly string[]).includes(kind)) {
    return sendFastApiJson(res, 400, { error: `unknown fault kind ${JSON.stringify(kind)}`, kinds: WHISPER_ASR_FAULT_KINDS });
  }
  const n = count ?? 1;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) return sendFastApiJson(res, 400, { error: '`count` must be a positive integer' });
  ctx.queue.push({ kind: kind as WhisperAsrFaultKind, remaining: n });
  return sendFastApiJson(res, 200, { queued: list() });
}

function pick(v: number | undefined, d: number): number {
  return v === undefined || !Number.isFinite(v) ? d : Math.max(0, v);
}

/** Start a simulated whisper-asr-webservice. */
export async function startWhisperAsrSim(opts: WhisperAsrSimOptions = {}): Promise<WhisperAsrSim> {
  const ctx: Ctx = {
    engine: opts.engine ?? 'openai_whisper',
    latency: {
      baseMs: pick(opts.baseMs, DEFAULT_ASR_LATENCY.baseMs),
      perAudioSecondMs: pick(opts.perAudioSecondMs, DEFAULT_ASR_LATENCY.perAudioSecondMs),
      jitter: Math.min(1, pick(opts.jitter, DEFAULT_ASR_LATENCY.jitter)),
    },
    slowFactor: pick(opts.slowFactor, 10),
    strictEnums: opts.strictEnums ?? false,
    ffmpeg: opts.ffmpeg ?? 'ffmpeg',
    book: opts.clipBook ?? loadClipBook(),
    line: new ModelLine(Math.max(1, Math.floor(pick(opts.concurrency, 1)))),
    events: new EventEmitter<WhisperAsrSimEvents>(),
    stats: { requests: 0, completed: 0, aborted: 0 },
    defaultFault: opts.fault,
    queue: [],
    seed: opts.seed ?? 1,
    nextId: 0,
  };
  const server = createServer({ keepAliveTimeout: 5_000 }, (req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
    const method = req.method ?? 'GET';
    const route: WhisperAsrRoute | 'other' = path === '/asr' ? 'asr' : path === '/detect-language' ? 'detect-language' : 'other';
    if (route !== 'other' && method === 'POST') {
      const id = ++ctx.nextId;
      ctx.stats.requests++;
      const gone = new AbortController();
      res.once('close', () => {
        const completed = res.writableFinished;
        if (completed) ctx.stats.completed++;
        else ctx.stats.aborted++;
        gone.abort();
        ctx.events.emit('request-closed', { id, route, atMs: performance.now(), completed, status: res.headersSent ? res.statusCode : null });
      });
      handle(ctx, route, id, req, res, gone.signal).catch(() => {
        if (!res.headersSent) sendInternalError(res);
        else res.destroy();
      });
      return;
    }
    if (route !== 'other') return sendFastApiJson(res, 405, { detail: 'Method Not Allowed' }, { allow: 'POST' });
    if (path === WHISPER_ASR_ADMIN_PATH) {
      admin(ctx, req, res).catch(() => res.destroy());
      return;
    }
    if (method === 'GET' && path === '/') {
      res.writeHead(307, { server: 'uvicorn', location: '/docs', 'content-length': 0 });
      res.end();
      return;
    }
    if (method === 'GET' && path === '/docs') {
      res.writeHead(200, { server: 'uvicorn', 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(DOCS_HTML) });
      res.end(DOCS_HTML);
      return;
    }
    if (method === 'GET' && path === '/openapi.json') return sendFastApiJson(res, 200, JSON.parse(openapi(ctx.engine)));
    if (path === '/' || path === '/docs' || path === '/openapi.json') return sendFastApiJson(res, 405, { detail: 'Method Not Allowed' }, { allow: 'GET' });
    return sendFastApiJson(res, 404, { detail: 'Not Found' });
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port: opts.port ?? 0, backlog: 1024 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    engine: ctx.engine,
    events: ctx.events,
    stats: () => ({ ...ctx.stats, running: ctx.line.running, queued: ctx.line.waiting.length }),
    queueFault: (kind, count = 1) => {
      if (count > 0) ctx.queue.push({ kind, remaining: Math.floor(count) });
    },
    clearFaults: () => {
      const n = ctx.queue.reduce((a, q) => a + q.remaining, 0);
      ctx.queue.length = 0;
      return n;
    },
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

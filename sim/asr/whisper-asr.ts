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
//
// Pieces: asr-request.ts + asr-query.ts (request reading and FastAPI validation), fastapi-reply.ts,
// model-line.ts (the queue), whisper-asr-faults.ts (faults, /__sim/faults), asr-openapi.ts (/docs),
// asr-latency.ts, whisper-asr-types.ts (options, events, handle).
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { listenHttp } from '../http-listen.ts';
import { fnv1a, mulberry32 } from '../random.ts';
import { asrDelayMs, DEFAULT_ASR_LATENCY, type AsrLatency } from './asr-latency.ts';
import { DOCS_HTML, openapi } from './asr-openapi.ts';
import { engineResult, writeOutput, type AsrEngine } from './asr-output.ts';
import { parseRequest } from './asr-request.ts';
import { loadClipBook, pseudoProb, type ClipBook, type Transcription } from './clip-book.ts';
import { decodeAudio, DecodeError } from './decode.ts';
import { pyQuote, sendFastApiJson, sendInternalError } from './fastapi-reply.ts';
import { isWhisperLanguageCode, resolveWhisperLanguage, WHISPER_LANGUAGES } from './languages.ts';
import { ModelLine } from './model-line.ts';
import { pyFloat } from './pyjson.ts';
import { ASR_RATE, s16leToInt16, WavError } from './wav.ts';
import { clearFaults, handleFaultsAdmin, pickFault, type FaultQueue } from './whisper-asr-faults.ts';
import {
  WHISPER_ASR_ADMIN_PATH,
  type WhisperAsrFaultKind,
  type WhisperAsrRoute,
  type WhisperAsrSim,
  type WhisperAsrSimEvents,
  type WhisperAsrSimOptions,
} from './whisper-asr-types.ts';

export { asrDelayMs, DEFAULT_ASR_LATENCY, type AsrLatency } from './asr-latency.ts';
export { pyQuote } from './fastapi-reply.ts';
export * from './whisper-asr-types.ts';

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
  queue: FaultQueue;
  seed: number;
  nextId: number;
}

async function handle(ctx: Ctx, route: WhisperAsrRoute, id: number, req: IncomingMessage, res: ServerResponse, gone: AbortSignal): Promise<void> {
  const p = await parseRequest(req, res, route, ctx.strictEnums);
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
  const fault = pickFault(ctx.queue, ctx.defaultFault);
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
      handleFaultsAdmin(ctx.queue, req, res).catch(() => res.destroy());
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
  const { url, port, close } = await listenHttp(server, opts.host ?? '127.0.0.1', opts.port ?? 0);
  return {
    url,
    port,
    engine: ctx.engine,
    events: ctx.events,
    stats: () => ({ ...ctx.stats, running: ctx.line.running, queued: ctx.line.waiting.length }),
    queueFault: (kind, count = 1) => {
      if (count > 0) ctx.queue.push({ kind, remaining: Math.floor(count) });
    },
    clearFaults: () => clearFaults(ctx.queue),
    close,
  };
}

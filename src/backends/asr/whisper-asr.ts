// whisper-asr-webservice (ahmetoner/whisper-asr-webservice) behind the ASR port: one
// `POST /asr?encode=false&…&output=json` per transcription (multipart field `audio_file` carrying
// raw s16le 16 kHz mono), over a keep-alive undici Pool. Utterances and partials: batch-stream.ts.
// Wire format: backend-protocols §6 (the JSON answer comes as text/plain).
import { randomBytes } from 'node:crypto';
import { Pool } from 'undici';
import type { Dispatcher } from 'undici';
import { VlpError } from '../../../protocol/errors.ts';
import type { AsrBackend, AsrStream } from './port.ts';
import { BatchAsrStream } from './batch-stream.ts';
import type { Transcribe, TranscribeOptions, Transcript } from './batch-stream.ts';
import { ASR_DEFAULTS, positiveOption, resolveCommon } from './config.ts';
import type { WhisperAsrConfig } from './config.ts';
import { asrProtocolError, whisperAsrHttpError, whisperAsrTransportError } from './errors.ts';
import { tidy } from './text.ts';
import { writePcm16le } from './pcm16.ts';

const SERVICE = 'whisper-asr-webservice';
/** Bytes of an error body read for its message. */
const MAX_ERROR_BODY = 4096;
/** Largest answer accepted, bytes (a 30 s utterance's JSON with segments is a few KB). */
const MAX_ANSWER = 1 << 20;

const BOUNDARY = `vlp-asr-${randomBytes(12).toString('hex')}`;
const PART_HEAD = Buffer.from(
  `--${BOUNDARY}\r\nContent-Disposition: form-data; name="audio_file"; filename="audio.pcm"\r\nContent-Type: application/octet-stream\r\n\r\n`,
);
const PART_TAIL = Buffer.from(`\r\n--${BOUNDARY}--\r\n`);
const HEADERS = { 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, accept: 'application/json' } as const;

/** The multipart body: one allocation, the samples copied in (so the caller may reuse them). */
export function multipartBody(samples: Int16Array): Buffer {
  const body = Buffer.allocUnsafe(PART_HEAD.length + samples.length * 2 + PART_TAIL.length);
  PART_HEAD.copy(body, 0);
  writePcm16le(samples, body, PART_HEAD.length);
  PART_TAIL.copy(body, PART_HEAD.length + samples.length * 2);
  return body;
}

/** `/asr` query string: options as query parameters, raw PCM (encode=false), JSON output. */
export function asrQuery(opts: TranscribeOptions): string {
  const q = new URLSearchParams({ encode: 'false', task: opts.task });
  if (opts.language !== undefined) q.set('language', opts.language);
  if (opts.initialPrompt !== undefined && opts.initialPrompt !== '') q.set('initial_prompt', opts.initialPrompt);
  if (opts.wordTimestamps === true) q.set('word_timestamps', 'true');
  q.set('output', 'json');
  return q.toString();
}

/** Parses the engine's JSON result (`{"text": "...", "segments": [...], "language": "en"}`). */
export function parseAsrAnswer(body: string): Transcript {
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch {
    // The parse error is not attached: it quotes the body, i.e. the transcript.
    throw asrProtocolError(SERVICE, 'the answer is not JSON (output=json)');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v) || !('text' in v) || typeof v.text !== 'string') {
    throw asrProtocolError(SERVICE, 'the answer has no `text` string');
  }
  const language = 'language' in v && typeof v.language === 'string' && v.language !== '' ? v.language : undefined;
  return language === undefined ? { text: tidy(v.text) } : { text: tidy(v.text), language };
}

async function readBody(body: Dispatcher.ResponseData['body'], limit: number, truncate: boolean): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    size += chunk.length;
    if (size > limit) {
      if (truncate) break; // leaving the loop destroys the rest
      throw asrProtocolError(SERVICE, `the answer is larger than ${limit} bytes`);
    }
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}

export function createWhisperAsrBackend(cfg: WhisperAsrConfig): AsrBackend {
  if (cfg.output !== undefined && cfg.output !== 'json') throw new Error('asr backend whisper-asr: only output "json" is supported');
  const common = resolveCommon(cfg);
  const base = new URL(cfg.url);
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new Error('asr backend whisper-asr: url must be http(s)://');
  const prefix = base.pathname.replace(/\/+$/, '');
  const pool = new Pool(base.origin, {
    connect: { timeout: positiveOption('connectTimeoutMs', cfg.connectTimeoutMs, ASR_DEFAULTS.connectTimeoutMs) },
    // The batch stream's own per-request deadline (requestTimeoutMs) replaces undici's timers.
    headersTimeout: 0,
    bodyTimeout: 0,
  });
  const streams = new Set<AsrStream>();
  const settings = { service: SERVICE, ...common, preRollMs: ASR_DEFAULTS.preRollMs };

  const transcribe: Transcribe = async (samples, signal, opts) => {
    const body = multipartBody(samples); // copies the samples before any await
    const path = `${prefix}/asr?${asrQuery(opts)}`;
    let res: Dispatcher.ResponseData;
    try {
      res = await pool.request({ method: 'POST', path, headers: HEADERS, body, signal });
    } catch (err) {
      if (signal.aborted) throw err;
      throw whisperAsrTransportError(err, 'request');
    }
    try {
      if (res.statusCode !== 200) {
        const text = await readBody(res.body, MAX_ERROR_BODY, true).catch(() => '');
        throw whisperAsrHttpError(res.statusCode, res.headers['retry-after'], text);
      }
      let text: string;
      try {
        text = await readBody(res.body, MAX_ANSWER, false);
      } catch (err) {
        if (signal.aborted || err instanceof VlpError) throw err;
        throw whisperAsrTransportError(err, 'body');
      }
      return parseAsrAnswer(text);
    } finally {
      if (!res.body.destroyed && res.body.readableEnded !== true) res.body.destroy();
    }
  };

  return {
    id: `whisper-asr:${base.origin}${prefix}`,
    capabilities: { livePartials: false, translate: true },
    open(opts, handlers) {
      const stream: BatchAsrStream = new BatchAsrStream(transcribe, opts, handlers, settings, () => streams.delete(stream));
      streams.add(stream);
      return stream;
    },
    /** GET / — the service redirects it to /docs (307); any answer below 400 is alive. */
    async probe(timeoutMs) {
      try {
        const res = await pool.request({ method: 'GET', path: `${prefix}/`, signal: AbortSignal.timeout(timeoutMs) });
        await res.body.dump().catch(() => undefined);
        return res.statusCode < 400;
      } catch {
        return false;
      }
    },
    async close() {
      for (const s of streams) s.close();
      streams.clear();
      await pool.close();
    },
  };
}

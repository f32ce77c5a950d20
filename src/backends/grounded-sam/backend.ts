// The Grounded-SAM SegmenterBackend: POSTs /detect_segment over a keep-alive undici Pool and turns
// the NDJSON body into boxes → mask… → done events, with timeouts and cancellation.
import type { Dispatcher, Pool } from 'undici';
import { VlpError } from '../../../protocol/errors.ts';
import { abortError } from '../abort.ts';
import type { SegmentEvent, SegmenterBackend, SegmentRequest } from '../segmenter-port.ts';
import { createUpstreamPool } from '../http/pool.ts';
import { StallWatch } from '../http/stall.ts';
import { gsamEndedEarlyError, gsamHttpError, gsamProtocolError, gsamTimeoutError, gsamTransportError } from './errors.ts';
import { deliverChunk, SegmentStreamReader } from './reader.ts';
import { detectSegmentBody } from './request.ts';

export interface GroundedSamBackendOptions {
  /** Base URL of the service, e.g. http://grounded-sam:7860 (a path prefix is kept). */
  url: string;
  /** TCP (+TLS) connect timeout, ms → UPSTREAM_UNAVAILABLE. */
  connectTimeoutMs: number;
  /** From calling upstream to the boxes line (detection + SAM image embedding), ms → UPSTREAM_TIMEOUT. */
  firstEventTimeoutMs: number;
  /** Longest wait for the next line after one, ms → UPSTREAM_TIMEOUT. */
  interEventTimeoutMs: number;
  /** Cap on sockets to the service; unset = unlimited. */
  maxConnections?: number;
  /** The service runs HQ-SAM and honours `hq` (default false). */
  hq?: boolean;
}

const MAX_ERROR_BODY = 4096;
const DUMP_LIMIT = 64 * 1024;
const HEADERS = { 'content-type': 'application/json', accept: 'application/x-ndjson' } as const;

interface Ctx {
  pool: Pool;
  path: string;
  opts: GroundedSamBackendOptions;
}

export function createGroundedSamBackend(opts: GroundedSamBackendOptions): SegmenterBackend {
  const base = new URL(opts.url);
  const prefix = base.pathname.replace(/\/+$/, '');
  const pool = createUpstreamPool(base.origin, { connectTimeoutMs: opts.connectTimeoutMs, maxConnections: opts.maxConnections });
  const ctx: Ctx = { pool, path: `${prefix}/detect_segment`, opts };
  return {
    id: `grounded-sam:${base.origin}${prefix}`,
    capabilities: { masks: true, hq: opts.hq === true },
    segment: (req) => streamSegments(ctx, req),
    probe: (timeoutMs) => probe(pool, `${prefix}/health`, timeoutMs),
    close: () => pool.close(),
  };
}

async function probe(pool: Pool, path: string, timeoutMs: number): Promise<boolean> {
  try {
    const res = await pool.request({ method: 'GET', path, signal: AbortSignal.timeout(timeoutMs) });
    await res.body.dump();
    return res.statusCode === 200;
  } catch {
    return false;
  }
}

async function readErrorBody(body: Dispatcher.ResponseData['body']): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= MAX_ERROR_BODY) break;
    }
  } catch {
    // a truncated error body still has a status worth reporting
  }
  return Buffer.concat(chunks).subarray(0, MAX_ERROR_BODY).toString('utf8');
}

/**
 * One request. `ac` is linked to req.signal, handed to undici and aborted by the stall watch; the
 * finally block aborts it whenever we leave before the done line (error, abort, or the consumer
 * breaking out), which destroys the upstream socket at once.
 */
async function* streamSegments(ctx: Ctx, req: SegmentRequest): AsyncGenerator<SegmentEvent, void, undefined> {
  const { signal } = req;
  if (signal.aborted) throw abortError(signal.reason);
  const body = detectSegmentBody(req, req.hq === true && ctx.opts.hq === true);
  const reader = new SegmentStreamReader([req.image.height, req.image.width]);

  const ac = new AbortController();
  const onAbort = (): void => ac.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  const watch = new StallWatch(ctx.opts.firstEventTimeoutMs, ctx.opts.interEventTimeoutMs, () => ac.abort());
  let res: Dispatcher.ResponseData | undefined;
  let phase: 'request' | 'stream' = 'request';
  try {
    res = await ctx.pool.request({ method: 'POST', path: ctx.path, headers: HEADERS, body, signal: ac.signal });
    if (res.statusCode !== 200) throw gsamHttpError(res.statusCode, res.headers['retry-after'], await readErrorBody(res.body));
    const contentType = res.headers['content-type'];
    if (typeof contentType !== 'string' || !/ndjson|jsonl/i.test(contentType)) throw gsamProtocolError('response is not application/x-ndjson');
    phase = 'stream';
    const chunks = res.body.iterator({ destroyOnReturn: false }) as AsyncIterableIterator<Buffer>;
    for await (const chunk of chunks) {
      if (yield* deliverChunk(reader, chunk, watch)) return;
    }
    throw gsamEndedEarlyError();
  } catch (err) {
    if (signal.aborted) throw abortError(signal.reason);
    if (watch.fired !== undefined) {
      throw gsamTimeoutError(watch.fired === 'first-token' ? 'first-event' : 'inter-event', watch.limitMs);
    }
    if (err instanceof VlpError) throw err;
    throw gsamTransportError(err, phase);
  } finally {
    watch.stop();
    signal.removeEventListener('abort', onAbort);
    if (reader.ended && res !== undefined) {
      // the done line was read
      res.body.dump({ limit: DUMP_LIMIT }).catch(() => undefined);
    } else if (!ac.signal.aborted) {
      ac.abort(); // destroys the upstream request and its socket
    }
  }
}

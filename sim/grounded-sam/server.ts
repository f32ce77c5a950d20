// The simulated Grounded-SAM HTTP service (protocol/GROUNDED-SAM.md): POST /detect_segment streams
// NDJSON boxes → masks → done, GET /health; `[[sim:fault=…]]` in text_prompt injects faults.
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { listenHttp } from '../http-listen.ts';
import { isJsonContentType, readBody, sendEmpty, sendJson } from '../tgi/http.ts';
import { parseDetectSegment, RequestError } from './request.ts';
import { serveStream, type StreamJob, type StreamTiming } from './stream.ts';
import type { GroundedSamSim, GroundedSamSimEvents, GroundedSamSimOptions } from './types.ts';

export type * from './types.ts';

/** Request body limit: 20 MB (a base64 12-megapixel JPEG fits). */
export const MAX_BODY_BYTES = 20 * 1024 * 1024;
export const DETECT_SEGMENT_PATH = '/detect_segment';

interface Ctx {
  timing: StreamTiming;
  events: EventEmitter<GroundedSamSimEvents>;
  jobs: Set<StreamJob>;
  nextId: number;
}

function sendError(res: ServerResponse, status: number, error: string, errorType: string, headers: Record<string, string> = {}): void {
  sendJson(res, status, JSON.stringify({ error, error_type: errorType }), headers);
}

async function detectSegment(ctx: Ctx, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (!isJsonContentType(req.headers['content-type'])) return sendError(res, 415, 'expected Content-Type: application/json', 'validation');
  const body = await readBody(req, MAX_BODY_BYTES);
  if (body === null) return sendError(res, 413, `request body over ${MAX_BODY_BYTES} bytes`, 'validation');
  let parsed;
  try {
    parsed = await parseDetectSegment(body);
  } catch (err) {
    if (!(err instanceof RequestError)) throw err;
    return sendError(res, err.status, err.message, 'validation');
  }
  const id = ctx.nextId++;
  ctx.events.emit('request', {
    id,
    phrases: parsed.phrases,
    boxThreshold: parsed.boxThreshold,
    textThreshold: parsed.textThreshold,
    hq: parsed.hq,
    maxInstances: parsed.maxInstances,
    imageBytes: parsed.image.length,
    fault: parsed.fault ?? null,
  });
  const closed = (completed: boolean): void => {
    ctx.events.emit('request-closed', { id, atMs: performance.now(), completed });
  };
  switch (parsed.fault) {
    case 'overloaded_429':
      sendError(res, 429, 'Model is overloaded', 'overloaded', { 'retry-after': '1' });
      return closed(true);
    case 'unavailable_503':
      sendError(res, 503, 'Service unavailable: models are loading', 'unavailable', { 'retry-after': '2' });
      return closed(true);
    case 'validation':
      sendError(res, 422, 'Input validation error: simulated', 'validation');
      return closed(true);
    default: {
      const job = serveStream(res, parsed, ctx.timing, (completed) => {
        ctx.jobs.delete(job);
        closed(completed);
      });
      ctx.jobs.add(job);
    }
  }
}

async function route(ctx: Ctx, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const method = req.method ?? 'GET';
  const path = (req.url ?? '/').split('?', 1)[0];
  switch (path) {
    case DETECT_SEGMENT_PATH:
      return method === 'POST' ? detectSegment(ctx, req, res) : sendEmpty(res, 405, { allow: 'POST' });
    case '/health':
      return method === 'GET' || method === 'HEAD' ? sendJson(res, 200, '{"status":"ok"}') : sendEmpty(res, 405, { allow: 'GET,HEAD' });
    default:
      return sendEmpty(res, 404);
  }
}

function pick(v: number | undefined, d: number): number {
  return v === undefined || !Number.isFinite(v) ? d : Math.max(0, v);
}

/** Start a simulated Grounded-SAM service. */
export async function startGroundedSamSim(opts: GroundedSamSimOptions = {}): Promise<GroundedSamSim> {
  const ctx: Ctx = {
    timing: { detectMs: pick(opts.detectMs, 120), perMaskMs: pick(opts.perMaskMs, 45), jitter: Math.min(1, pick(opts.jitter, 0.2)) },
    events: new EventEmitter<GroundedSamSimEvents>(),
    jobs: new Set(),
    nextId: 1,
  };
  const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    route(ctx, req, res).catch((err: unknown) => {
      if (!res.headersSent) sendError(res, 500, `simulator error: ${err instanceof Error ? err.message : String(err)}`, 'internal');
      else res.destroy();
    });
  });
  const { url, port, close } = await listenHttp(server, opts.host ?? '127.0.0.1', opts.port ?? 0, {
    beforeClose: () => {
      for (const job of ctx.jobs) job.cancel();
      ctx.jobs.clear();
    },
  });
  return { url, port, events: ctx.events, close };
}

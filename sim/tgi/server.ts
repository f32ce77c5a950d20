// The simulated Hugging Face TGI server (router v3.3.7 wire format): HTTP routing, request decoding
// with axum's rejections, and dispatch to the streaming / non-streaming generators. Reached by the
// gateway only through its URL.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenHttp } from '../http-listen.ts';
import { ADMIN_FAULTS_PATH, handleFaultsAdmin } from './admin.ts';
import { CHAT_PATH, handleChat, handleModels, MODELS_PATH } from './chat.ts';
import { resolveOptions, SimContext } from './context.ts';
import {
  BODY_TOO_LARGE,
  isJsonContentType,
  MISSING_JSON_CONTENT_TYPE,
  readBody,
  sendEmpty,
  sendJson,
  sendJsonRejection,
  sendText,
} from './http.ts';
import { infoJson } from './info.ts';
import { JsonDecodeError } from './json.ts';
import { prepare } from './prepare.ts';
import { answerProxyFault } from './proxy-faults.ts';
import { parseGenerateRequest } from './request.ts';
import { serveStream } from './stream.ts';
import type { TgiRoute, TgiSim, TgiSimOptions } from './types.ts';
import { serveUnary } from './unary.ts';

export type { TgiSim, TgiSimOptions, TgiSimEvents, RequestEvent, RequestClosedEvent, TokenEmittedEvent } from './types.ts';

async function handleGeneration(ctx: SimContext, req: IncomingMessage, res: ServerResponse, route: TgiRoute): Promise<void> {
  const { opts } = ctx;
  if (!isJsonContentType(req.headers['content-type'])) return sendText(res, 415, MISSING_JSON_CONTENT_TYPE);
  const body = await readBody(req, opts.payloadLimit);
  if (body === null) return sendText(res, 413, BODY_TOO_LARGE);
  let request;
  try {
    request = parseGenerateRequest(body, route === '/');
  } catch (err) {
    if (!(err instanceof JsonDecodeError)) throw err;
    return sendJsonRejection(res, err);
  }
  const params = request.parameters;
  if (route === '/' && params.return_full_text === null) {
    // compat_generate: default true when the Hub pipeline_tag is text-generation (or unknown).
    params.return_full_text = opts.pipelineTag === null || opts.pipelineTag === 'text-generation';
  }
  const p = prepare(ctx, route, request.inputs, params);
  ctx.events.emit('request', {
    id: p.id,
    route,
    stream: route === '/generate_stream' || request.stream,
    inputsLength: request.inputs.length,
    seed: params.seed === null ? null : Number(params.seed),
    params,
  });

  if (answerProxyFault(ctx, res, p)) return;
  if (route === '/generate_stream' || request.stream) return serveStream(ctx, res, p);
  return serveUnary(ctx, res, p);
}

async function route(ctx: SimContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const method = req.method ?? 'GET';
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const isGet = method === 'GET' || method === 'HEAD';
  const notAllowed = (allow: string): void => sendEmpty(res, 405, { allow });

  switch (path) {
    case '/':
      if (method === 'POST') return handleGeneration(ctx, req, res, '/');
      return isGet ? sendEmpty(res, 200) : notAllowed('GET,HEAD,POST');
    case '/generate':
    case '/generate_stream':
      return method === 'POST' ? handleGeneration(ctx, req, res, path) : notAllowed('POST');
    case CHAT_PATH:
      return method === 'POST' ? handleChat(ctx, req, res) : notAllowed('POST');
    case MODELS_PATH:
      return isGet ? handleModels(ctx, res) : notAllowed('GET,HEAD');
    case '/health':
    case '/ping':
      return isGet ? sendEmpty(res, 200) : notAllowed('GET,HEAD');
    case '/info':
      return isGet ? sendJson(res, 200, infoJson(ctx.opts)) : notAllowed('GET,HEAD');
    case '/metrics': {
      if (!isGet) return notAllowed('GET,HEAD');
      ctx.syncGauges();
      const text = await ctx.metrics.render();
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
      res.end(text);
      return;
    }
    case ADMIN_FAULTS_PATH: {
      const body = method === 'POST' ? await readBody(req, 65_536) : null;
      return handleFaultsAdmin(ctx, method, body, res);
    }
    default:
      return sendEmpty(res, 404);
  }
}

/** Start a simulated TGI server. */
export async function startTgiSim(options: TgiSimOptions = {}): Promise<TgiSim> {
  const opts = resolveOptions(options);
  const ctx = new SimContext(opts);
  const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    route(ctx, req, res).catch((err: unknown) => {
      if (!res.headersSent) sendText(res, 500, `simulator error: ${err instanceof Error ? err.message : String(err)}`);
      else res.destroy();
    });
  });
  const listening = await listenHttp(server, opts.host, opts.port, {
    beforeClose: () => {
      for (const job of ctx.jobs) job.cancel();
      ctx.jobs.clear();
    },
  });
  return {
    url: listening.url,
    port: listening.port,
    modelId: opts.modelId,
    kind: opts.kind,
    events: ctx.events,
    inFlight: () => ctx.inFlight,
    close: listening.close,
  };
}

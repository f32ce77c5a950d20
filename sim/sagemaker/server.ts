// The simulated SageMaker runtime (SIMULATED: no AWS here): routes InvokeEndpoint and
// InvokeEndpointWithResponseStream to the container behind each endpoint — a TGI server, a
// Grounded-SAM service (`groundedSam: true`), or the in-process JumpStart Whisper container of a
// `whisper: true` endpoint — answers AWS-style errors, injects SageMaker-level faults, and aborts
// the container request when the client goes.
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Agent, request, type Dispatcher } from 'undici';
import { listenHttp } from '../http-listen.ts';
import { readBody } from '../tgi/http.ts';
import { handleSageMakerAdmin, SAGEMAKER_ADMIN_PATH } from './admin.ts';
import { sendAwsError, sendModelError, sendServiceFault, sendValidationError } from './errors.ts';
import { isStreamFault, SageMakerFaultQueue, type SageMakerFault, type StreamFaultKind } from './faults.ts';
import { relayStream, relayWhole, type Exchange, type RelayContext } from './relay.ts';
import { invokeWhisper } from './whisper.ts';
import type { SageMakerEndpointConfig, SageMakerRoute, SageMakerSim, SageMakerSimEvents, SageMakerSimOptions, SageMakerSimStats } from './types.ts';

/** SageMaker real-time payload limit: 6 MB. */
const MAX_PAYLOAD = 6 * 1024 * 1024;
const ROUTE_RE = /^\/endpoints\/([^/]+)\/(invocations|invocations-response-stream)$/;

interface SimState extends RelayContext {
  endpoints: Record<string, SageMakerEndpointConfig>;
  accountId: string;
  region: string;
  events: EventEmitter<SageMakerSimEvents>;
  faults: SageMakerFaultQueue;
  agent: Agent;
  nextId: number;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

interface PeekedBody {
  /** TGI's `inputs`. */
  inputs: string | undefined;
  /** Grounded-SAM's `text_prompt`. */
  textPrompt: string | undefined;
  stream: boolean | null;
}

/** `inputs`, `text_prompt` and top-level `stream` of a JSON body, when it is one. */
function peekJson(body: Buffer): PeekedBody {
  const none: PeekedBody = { inputs: undefined, textPrompt: undefined, stream: null };
  try {
    const v: unknown = JSON.parse(body.toString('utf8'));
    if (typeof v !== 'object' || v === null) return none;
    const o = v as { inputs?: unknown; text_prompt?: unknown; stream?: unknown };
    return {
      inputs: typeof o.inputs === 'string' ? o.inputs : undefined,
      textPrompt: typeof o.text_prompt === 'string' ? o.text_prompt : undefined,
      stream: typeof o.stream === 'boolean' ? o.stream : null,
    };
  } catch {
    return none;
  }
}

/** The body with top-level `stream: true` (unchanged when it is not a JSON object). */
function withStreamTrue(body: Buffer): Buffer {
  try {
    const v: unknown = JSON.parse(body.toString('utf8'));
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return body;
    return Buffer.from(JSON.stringify({ ...v, stream: true }));
  } catch {
    return body;
  }
}

/** Where the container's `/invocations` is: TGI's compat route `POST /`, Grounded-SAM's
 *  `POST /detect_segment` (a base URL's path prefix is kept). */
function containerPath(baseUrl: string, route: '' | 'detect_segment'): { origin: string; path: string } {
  const u = new URL(baseUrl);
  return { origin: u.origin, path: `${u.pathname.replace(/\/+$/, '')}/${route}` };
}

async function invoke(st: SimState, req: IncomingMessage, res: ServerResponse, name: string, route: SageMakerRoute): Promise<void> {
  const ep = st.endpoints[name];
  if (ep === undefined) return sendValidationError(res, `Endpoint ${name} of account ${st.accountId} not found.`);
  const body = await readBody(req, MAX_PAYLOAD);
  if (body === null) return sendValidationError(res, `Request payload exceeds the maximum size of ${MAX_PAYLOAD} bytes.`);
  const variants = ep.variants ?? ['AllTraffic'];
  const target = header(req, 'x-amzn-sagemaker-target-variant');
  if (target !== undefined && !variants.includes(target)) {
    return sendValidationError(res, `Target variant ${target} not found for endpoint ${name} of account ${st.accountId}.`);
  }
  if (route === 'invocations-response-stream' && (ep.whisper === true || ep.streaming === false)) {
    return sendValidationError(res, `Endpoint ${name} of account ${st.accountId} does not support response streaming.`);
  }
  const { inputs, textPrompt, stream } = peekJson(body);
  const fault = ep.groundedSam === true ? st.faults.pickText(textPrompt) : st.faults.pick(inputs);
  const contentType = header(req, 'content-type');
  const ex: Exchange = { id: ++st.nextId, variant: target ?? (variants[0] as string), completed: false, payloadParts: 0, closed: false };
  st.events.emit('request', {
    id: ex.id,
    endpoint: name,
    route,
    contentType,
    signed: (header(req, 'authorization') ?? '').startsWith('AWS4-HMAC-SHA256'),
    stream,
    targetVariant: target,
    inferenceComponent: header(req, 'x-amzn-sagemaker-inference-component'),
    fault: fault?.kind ?? null,
  });
  const upstream = new AbortController();
  res.once('close', () => {
    ex.closed = true;
    upstream.abort(); // no-op when the container response already ended
    st.events.emit('request-closed', { id: ex.id, endpoint: name, route, atMs: performance.now(), completed: ex.completed, payloadParts: ex.payloadParts });
  });
  if (fault !== undefined && !isStreamFault(fault.kind)) {
    ex.completed = true;
    return sendServiceFault(res, fault.kind);
  }

  if (ep.whisper === true) {
    return invokeWhisper(ep, { endpoint: name, accountId: st.accountId, region: st.region, contentType, body, ex }, res);
  }
  const gsam = ep.groundedSam === true;
  const { origin, path } = gsam ? containerPath(ep.groundedSamUrl, 'detect_segment') : containerPath(ep.tgiUrl, '');
  const forward = !gsam && route === 'invocations-response-stream' && ep.forceStream === true && stream !== true ? withStreamTrue(body) : body;
  const headers: Record<string, string> = { 'content-type': contentType ?? 'application/octet-stream' };
  const accept = header(req, 'x-amzn-sagemaker-accept');
  if (accept !== undefined) headers.accept = accept;
  let up: Dispatcher.ResponseData;
  try {
    up = await request(origin + path, { dispatcher: st.agent, method: 'POST', headers, body: forward, signal: upstream.signal });
  } catch {
    if (ex.closed) return;
    ex.completed = true;
    return sendModelError(res, { endpoint: name, accountId: st.accountId, region: st.region, status: 0, body: 'An exception occurred while sending request to model. (SIMULATED)' });
  }
  if (ex.closed) return void up.body.destroy();
  if (up.statusCode < 200 || up.statusCode >= 300) {
    const text = await up.body.text().catch(() => '');
    if (ex.closed) return;
    ex.completed = true;
    return sendModelError(res, { endpoint: name, accountId: st.accountId, region: st.region, status: up.statusCode, body: text });
  }
  if (route === 'invocations') {
    try {
      return await relayWhole(res, ex, up);
    } catch {
      // The container broke off its answer: SageMaker has no answer to relay (assumed ModelError 0).
      if (ex.closed || res.headersSent) return;
      ex.completed = true;
      return sendModelError(res, { endpoint: name, accountId: st.accountId, region: st.region, status: 0, body: 'The model container closed the connection before its answer ended. (SIMULATED)' });
    }
  }
  // Stream faults exist only on the streaming API.
  const streamFault = fault !== undefined && isStreamFault(fault.kind) ? (fault as SageMakerFault & { kind: StreamFaultKind }) : undefined;
  return relayStream(st, res, ex, up, streamFault, gsam ? 'ndjson' : 'sse');
}

async function route(st: SimState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  if (path === SAGEMAKER_ADMIN_PATH) {
    const body = req.method === 'POST' ? await readBody(req, 65_536) : null;
    return handleSageMakerAdmin(st.faults, req.method ?? 'GET', body, res);
  }
  const m = ROUTE_RE.exec(path);
  if (m === null || req.method !== 'POST') {
    return sendAwsError(res, 404, 'UnknownOperationException', { message: `No operation matches ${req.method ?? ''} ${path}` });
  }
  let name: string;
  try {
    name = decodeURIComponent(m[1] as string);
  } catch {
    return sendValidationError(res, 'The endpoint name is not valid URL encoding.');
  }
  return invoke(st, req, res, name, m[2] as SageMakerRoute);
}

function emptyStats(): SageMakerSimStats {
  return { payloadParts: 0, exceptionEvents: 0, splitInsideUtf8: 0, splitInsideDataPrefix: 0, splitInsideJson: 0, splitOther: 0 };
}

/** Start a simulated SageMaker runtime in front of the given containers. */
export async function startSageMakerSim(opts: SageMakerSimOptions): Promise<SageMakerSim> {
  const st: SimState = {
    endpoints: { ...opts.endpoints },
    accountId: opts.accountId ?? '123456789012',
    region: opts.region ?? 'us-east-1',
    events: new EventEmitter<SageMakerSimEvents>(),
    faults: new SageMakerFaultQueue(Math.max(0, Math.floor(opts.faultAfterEvents ?? 3))),
    // No body/header timeouts: a stalled container is the client's problem to detect.
    agent: new Agent({ headersTimeout: 0, bodyTimeout: 0, keepAliveTimeout: 10_000 }),
    nextId: 0,
    chunking: opts.chunking ?? 'awkward',
    seed: opts.seed ?? 1,
    stats: emptyStats(),
  };
  const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    route(st, req, res).catch((err: unknown) => {
      if (!res.headersSent) sendAwsError(res, 500, 'InternalFailure', { Message: `simulator error: ${err instanceof Error ? err.message : String(err)}` });
      else res.destroy();
    });
  });
  const { url, port, close } = await listenHttp(server, opts.host ?? '127.0.0.1', opts.port ?? 0, { afterClose: () => st.agent.destroy() });
  return {
    url,
    port,
    endpointNames: Object.keys(st.endpoints),
    events: st.events,
    stats: () => ({ ...st.stats }),
    close,
  };
}

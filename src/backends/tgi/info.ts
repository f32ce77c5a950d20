// Readiness probes for a TGI server: GET /info (model and token limits, across TGI versions) and
// GET /health. One-shot requests on undici's global dispatcher, each with a deadline.
import { request } from 'undici';
import { VlpError } from '../../../protocol/errors.ts';
import { tgiHttpError, tgiProtocolError, tgiTransportError } from './errors.ts';

/** The parts of TGI's `GET /info` the gateway uses, normalized across versions. */
export interface TgiInfo {
  model_id: string;
  /** `max_input_tokens` (TGI ≥ 2), or `max_input_length` (TGI 1.x); undefined if neither. */
  max_input_tokens: number | undefined;
  max_total_tokens: number | undefined;
  /** Router's max_stop_sequences, when reported. */
  max_stop_sequences: number | undefined;
  version: string | undefined;
}

function url(base: string, route: string): string {
  const u = new URL(base);
  u.pathname = `${u.pathname.replace(/\/+$/, '')}${route}`;
  return u.toString();
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** Fetches and normalizes /info. Throws VlpError: UPSTREAM_UNAVAILABLE (unreachable),
 *  UPSTREAM_TIMEOUT (no answer within timeoutMs), the HTTP status mapping, or UPSTREAM_PROTOCOL. */
export async function fetchTgiInfo(baseUrl: string, timeoutMs = 5000): Promise<TgiInfo> {
  const signal = AbortSignal.timeout(timeoutMs);
  let text: string;
  let status: number;
  let retryAfter: string | string[] | undefined;
  try {
    const res = await request(url(baseUrl, '/info'), { method: 'GET', signal, headers: { accept: 'application/json' } });
    status = res.statusCode;
    retryAfter = res.headers['retry-after'];
    text = await res.body.text();
  } catch (err) {
    if (signal.aborted) throw new VlpError('UPSTREAM_TIMEOUT', `TGI /info did not answer within ${timeoutMs} ms`);
    throw tgiTransportError(err, 'request');
  }
  if (status !== 200) throw tgiHttpError(status, retryAfter, text);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw tgiProtocolError('/info is not JSON');
  }
  if (typeof body !== 'object' || body === null) throw tgiProtocolError('/info is not a JSON object');
  const o = body as Record<string, unknown>;
  if (typeof o.model_id !== 'string') throw tgiProtocolError('/info has no model_id');
  return {
    model_id: o.model_id,
    max_input_tokens: num(o.max_input_tokens) ?? num(o.max_input_length),
    max_total_tokens: num(o.max_total_tokens),
    max_stop_sequences: num(o.max_stop_sequences),
    version: typeof o.version === 'string' ? o.version : undefined,
  };
}

/** True when GET /health answers 200 within timeoutMs; false on any other status or failure. */
export async function checkTgiHealth(baseUrl: string, timeoutMs: number): Promise<boolean> {
  try {
    const res = await request(url(baseUrl, '/health'), { method: 'GET', signal: AbortSignal.timeout(timeoutMs) });
    await res.body.dump();
    return res.statusCode === 200;
  } catch {
    return false;
  }
}

// One bounded request/response exchange with an HTTP upstream over an undici Pool: a single
// deadline for connect + headers + body, the caller's AbortSignal linked to the request (aborting
// destroys the socket, so the upstream sees the request closed), and a cap on the body bytes read.
// Vendor-neutral: the caller passes its own error mapping (its errors.ts).
import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher, Pool } from 'undici';
import { abortError } from '../abort.ts';
import type { VlpError } from '../../../protocol/errors.ts';

export interface UnaryErrorMap {
  /** The deadline passed before the body was read in full. */
  timeout(ms: number): VlpError;
  /** Socket/DNS/connect failure; 'request' = before the response headers, 'stream' = reading the body. */
  transport(err: unknown, phase: 'request' | 'stream'): VlpError;
}

export interface UnaryRequest {
  path: string;
  body: string;
  headers: Record<string, string>;
  /** Connect, headers and body, ms. */
  timeoutMs: number;
  /** Body bytes read at most; a longer body is reported `truncated` and its socket destroyed. */
  maxBytes: number;
  signal?: AbortSignal | undefined;
}

export interface UnaryResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The body (or its declared content-length) was longer than maxBytes. */
  truncated: boolean;
}

async function readCapped(body: Dispatcher.ResponseData['body'], declared: number, maxBytes: number): Promise<{ bytes: Buffer; truncated: boolean }> {
  if (Number.isFinite(declared) && declared > maxBytes) {
    body.destroy();
    return { bytes: Buffer.alloc(0), truncated: true };
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) return { bytes: Buffer.concat(chunks), truncated: true }; // leaving the loop destroys the rest
    chunks.push(chunk);
  }
  return { bytes: Buffer.concat(chunks, size), truncated: false };
}

/** POSTs `req.body` and reads the answer. Throws an AbortError when `req.signal` aborted, else the
 *  mapped VlpError; never leaves a request running upstream once it has returned or thrown. */
export async function postUnary(pool: Pool, req: UnaryRequest, errors: UnaryErrorMap): Promise<UnaryResponse> {
  const { signal } = req;
  if (signal?.aborted) throw abortError(signal.reason);
  const ac = new AbortController();
  const onAbort = (): void => ac.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ac.abort();
  }, req.timeoutMs);
  let phase: 'request' | 'stream' = 'request';
  try {
    const res = await pool.request({ method: 'POST', path: req.path, headers: req.headers, body: req.body, signal: ac.signal });
    phase = 'stream';
    const declared = Number(res.headers['content-length']);
    const { bytes, truncated } = await readCapped(res.body, declared, req.maxBytes);
    return { status: res.statusCode, headers: res.headers, body: bytes, truncated };
  } catch (err) {
    if (signal?.aborted) throw abortError(signal.reason);
    if (timedOut) throw errors.timeout(req.timeoutMs);
    throw errors.transport(err, phase);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

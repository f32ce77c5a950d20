// Runs the gateway's plain-HTTP handler for both adapters: undefined → 404, a throw or rejection →
// 500, and a synchronous result is answered synchronously (uWS needs no cork for that case). Also
// the rules both share about request bodies: which methods have one, and how large it may be.
import type { HttpHandler, HttpRequestInfo, HttpResponse } from './types.ts';

const TEXT = { 'content-type': 'text/plain; charset=utf-8' };

export const NOT_FOUND: HttpResponse = { status: 404, headers: TEXT, body: 'not found\n' };
export const INTERNAL_ERROR: HttpResponse = { status: 500, headers: TEXT, body: 'internal error\n' };
export const PAYLOAD_TOO_LARGE: HttpResponse = { status: 413, headers: TEXT, body: 'payload too large\n' };

/** Largest request body a route gets; a larger one is answered 413 and the connection closed.
 *  The routes take small JSON bodies at most (POST /v1/client_tokens). */
export const MAX_HTTP_BODY_BYTES = 16 << 10;

export const EMPTY_BODY = new Uint8Array(0);

/** GET and HEAD bodies are discarded unread; any other method's is read (up to the cap). */
export function readsBody(method: string): boolean {
  return method !== 'GET' && method !== 'HEAD';
}

/** A declared Content-Length over the cap (the body is then not read at all). */
export function declaresTooLarge(contentLength: string | undefined): boolean {
  if (contentLength === undefined || contentLength === '') return false;
  const n = Number(contentLength);
  return !Number.isFinite(n) || n > MAX_HTTP_BODY_BYTES;
}

/** Gathers body chunks up to the cap: push() returns false once the cap is passed. */
export class BodyCollector {
  private readonly chunks: Uint8Array[] = [];
  private bytes = 0;

  push(chunk: Uint8Array): boolean {
    this.bytes += chunk.byteLength;
    if (this.bytes > MAX_HTTP_BODY_BYTES) return false;
    if (chunk.byteLength > 0) this.chunks.push(chunk);
    return true;
  }

  body(): Uint8Array {
    if (this.chunks.length === 0) return EMPTY_BODY;
    return this.chunks.length === 1 ? (this.chunks[0] as Uint8Array) : Buffer.concat(this.chunks);
  }
}

function isPromiseLike<T>(v: T | PromiseLike<T>): v is PromiseLike<T> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

/** Call `handler` and hand the final response to `respond`, synchronously when it can. */
export function runHttpHandler(
  handler: HttpHandler,
  method: string,
  path: string,
  req: HttpRequestInfo,
  respond: (res: HttpResponse) => void,
): void {
  let out: ReturnType<HttpHandler>;
  try {
    out = handler(method, path, req);
  } catch {
    respond(INTERNAL_ERROR);
    return;
  }
  if (!isPromiseLike(out)) {
    respond(out ?? NOT_FOUND);
    return;
  }
  out.then(
    (r) => respond(r ?? NOT_FOUND),
    () => respond(INTERNAL_ERROR),
  );
}

/** Headers the server computes itself; a handler's copy would duplicate or contradict them. */
export function isFramingHeader(name: string): boolean {
  const n = name.toLowerCase();
  return n === 'content-length' || n === 'transfer-encoding' || n === 'connection';
}

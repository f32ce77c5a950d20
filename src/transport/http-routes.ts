// Runs the gateway's plain-HTTP handler for both adapters: undefined → 404, a throw or rejection →
// 500, and a synchronous result is answered synchronously (uWS needs no cork for that case).
import type { HttpHandler, HttpResponse } from './types.ts';

const TEXT = { 'content-type': 'text/plain; charset=utf-8' };

export const NOT_FOUND: HttpResponse = { status: 404, headers: TEXT, body: 'not found\n' };
export const INTERNAL_ERROR: HttpResponse = { status: 500, headers: TEXT, body: 'internal error\n' };

function isPromiseLike<T>(v: T | PromiseLike<T>): v is PromiseLike<T> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

/** Call `handler` and hand the final response to `respond`, synchronously when it can. */
export function runHttpHandler(
  handler: HttpHandler,
  method: string,
  path: string,
  respond: (res: HttpResponse) => void,
): void {
  let out: ReturnType<HttpHandler>;
  try {
    out = handler(method, path);
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

// Replies of the simulated whisper-asr-webservice as FastAPI on uvicorn writes them: JSON error
// bodies, the plain-text 500, and Python's urllib quote() of the Content-Disposition filename.
import type { ServerResponse } from 'node:http';

/** FastAPI's HTTPException / RequestValidationError bodies (compact JSON, non-ASCII kept). */
export function sendFastApiJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { server: 'uvicorn', 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** An unhandled exception in the endpoint: Starlette's plain-text 500. */
export function sendInternalError(res: ServerResponse): void {
  const body = 'Internal Server Error';
  res.writeHead(500, { server: 'uvicorn', 'content-type': 'text/plain; charset=utf-8', 'content-length': body.length });
  res.end(body);
}

/** Python's urllib.parse.quote(s) (safe="/"). */
export function pyQuote(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9_.~/-]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

// HTTP plumbing shared by the simulated TGI routes: axum-style plain-text rejections, JSON
// responses, the JSON content-type check and a size-limited body reader.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JsonDecodeError } from './json.ts';
import { errorJson } from './sse.ts';

const TEXT_PLAIN = 'text/plain; charset=utf-8';

/** An axum rejection: plain text, not JSON. */
export function sendText(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': TEXT_PLAIN, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export function sendJson(res: ServerResponse, status: number, json: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json), ...headers });
  res.end(json);
}

export function sendError(
  res: ServerResponse,
  status: number,
  error: string,
  errorType: string,
  headers: Record<string, string> = {},
): void {
  sendJson(res, status, errorJson(error, errorType), headers);
}

/** Empty-bodied status (axum's 404/405 and TGI's healthy /health). */
export function sendEmpty(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-length': 0, ...headers });
  res.end();
}

/** axum 0.7 `json_content_type`: `application/json`, or `application/*+json`, parameters allowed. */
export function isJsonContentType(header: string | undefined): boolean {
  if (!header) return false;
  const essence = header.split(';', 1)[0]?.trim().toLowerCase() ?? '';
  const slash = essence.indexOf('/');
  if (slash <= 0 || essence.slice(0, slash) !== 'application') return false;
  const subtype = essence.slice(slash + 1);
  return subtype === 'json' || subtype.endsWith('+json');
}

const JSON_SYNTAX_PREFIX = 'Failed to parse the request body as JSON: ';
const JSON_DATA_PREFIX = 'Failed to deserialize the JSON body into the target type: ';

/** axum's `Json<T>` rejection: 400 for a syntax error, 422 when the JSON does not fit the type. */
export function sendJsonRejection(res: ServerResponse, err: JsonDecodeError): void {
  const syntax = err.category === 'syntax';
  sendText(res, syntax ? 400 : 422, (syntax ? JSON_SYNTAX_PREFIX : JSON_DATA_PREFIX) + err.message);
}

export const MISSING_JSON_CONTENT_TYPE = 'Expected request with `Content-Type: application/json`';
export const BODY_TOO_LARGE = 'Failed to buffer the request body: length limit exceeded';

/** Read the whole body, or resolve null as soon as it exceeds `limit` bytes (or the declared
 *  Content-Length does). The rest of an oversized body is drained by Node after the response. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        done = true;
        req.off('data', onData);
        resolve(null);
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => {
      if (!done) resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    });
    req.once('error', (err) => {
      if (!done) reject(err);
    });
  });
}

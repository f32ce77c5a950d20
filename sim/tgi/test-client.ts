// Small HTTP helpers for the simulator's own tests (undici on loopback).
import { request } from 'undici';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  text: string;
}

function flatHeaders(h: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

/** POST a body (object → JSON) and read the whole response as text. */
export async function post(
  base: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = { 'content-type': 'application/json' },
): Promise<RawResponse> {
  const payload = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  const res = await request(base + path, { method: 'POST', headers, body: payload });
  return { status: res.statusCode, headers: flatHeaders(res.headers), text: await res.body.text() };
}

export async function get(base: string, path: string, method: 'GET' | 'DELETE' = 'GET'): Promise<RawResponse> {
  const res = await request(base + path, { method });
  return { status: res.statusCode, headers: flatHeaders(res.headers), text: await res.body.text() };
}

/** Split an SSE body into its `data` payloads (accepts both `data:` and `data: `). */
export function dataPayloads(text: string): string[] {
  return text
    .split('\n\n')
    .filter((frame) => frame.startsWith('data:'))
    .map((frame) => frame.slice(frame.startsWith('data: ') ? 6 : 5));
}

export interface StreamEvent {
  index?: number;
  token?: { id: number; text: string; logprob: number; special: boolean };
  top_tokens?: unknown[];
  generated_text?: string | null;
  details?: { finish_reason: string; generated_tokens: number; seed: number | null; input_length: number } | null;
  error?: string;
  error_type?: string;
}

export function events(text: string): StreamEvent[] {
  return dataPayloads(text).map((d) => JSON.parse(d) as StreamEvent);
}

/** Open a stream and hand each chunk to `onChunk` until it returns true (then abort) or the body ends. */
export async function readStreamUntil(
  base: string,
  body: unknown,
  onChunk: (soFar: string) => boolean,
): Promise<{ text: string; aborted: boolean; abortedAt: number }> {
  const ac = new AbortController();
  const res = await request(base + '/generate_stream', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: ac.signal,
  });
  let text = '';
  try {
    for await (const chunk of res.body) {
      text += (chunk as Buffer).toString('utf8');
      if (onChunk(text)) {
        const abortedAt = performance.now();
        ac.abort();
        return { text, aborted: true, abortedAt };
      }
    }
  } catch (err) {
    if ((err as Error).name !== 'AbortError') throw err;
  }
  return { text, aborted: false, abortedAt: 0 };
}

// Test-only helper: a tiny node:http server that plays a scripted TGI, writing exact bytes, and
// records each request's body and when its socket closed. Not a simulator (that lives in sim/).
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

export interface Recorded {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  remotePort: number;
  /** Resolves with performance.now() when the request's socket closes. */
  socketClosed: Promise<number>;
}

export type Script = (req: Recorded, res: ServerResponse, raw: IncomingMessage) => void | Promise<void>;

export interface FakeTgi {
  url: string;
  requests: Recorded[];
  close(): Promise<void>;
}

export async function startFakeTgi(script: Script): Promise<FakeTgi> {
  const requests: Recorded[] = [];
  const server = createServer((raw, res) => {
    const socket = raw.socket;
    const socketClosed = new Promise<number>((resolve) => {
      if (socket.destroyed) resolve(performance.now());
      else socket.once('close', () => resolve(performance.now()));
    });
    const parts: Buffer[] = [];
    raw.on('data', (c: Buffer) => parts.push(c));
    raw.on('end', () => {
      const rec: Recorded = {
        method: raw.method ?? '',
        path: raw.url ?? '',
        headers: raw.headers,
        body: Buffer.concat(parts).toString('utf8'),
        remotePort: socket.remotePort ?? 0,
        socketClosed,
      };
      requests.push(rec);
      void Promise.resolve(script(rec, res, raw)).catch(() => socket.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port with nothing listening on it (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function sseHead(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.flushHeaders();
}

/** Writes `bytes` split at the given offsets, pausing between pieces so each arrives apart. */
export async function writeSplit(res: ServerResponse, bytes: Buffer, cuts: readonly number[], pauseMs = 3): Promise<void> {
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    if (cut > at) res.write(bytes.subarray(at, cut));
    at = Math.max(at, cut);
    await sleep(pauseMs);
  }
}

// TGI StreamResponse builders (shapes from backend-protocols §1.4).
export function tokenEvent(index: number, id: number, text: string, special = false): object {
  return { index, token: { id, text, logprob: -0.12, special }, generated_text: null, details: null };
}

export function finalEvent(
  index: number, id: number, text: string, special: boolean, generated: string,
  finish: string, generatedTokens: number | undefined,
): object {
  const details = generatedTokens === undefined ? null : { finish_reason: finish, generated_tokens: generatedTokens, seed: null, input_length: 18 };
  return { index, token: { id, text, logprob: -0.01, special }, generated_text: generated, details };
}

/** `data:{...}\n\n` (TGI ≤ 2.0, axum 0.6) or `data: {...}\n\n` (TGI ≥ 2.1, axum 0.7). */
export function sse(events: readonly object[], framing: 'tight' | 'spaced' = 'tight'): Buffer {
  const prefix = framing === 'tight' ? 'data:' : 'data: ';
  return Buffer.from(events.map((e) => `${prefix}${JSON.stringify(e)}\n\n`).join(''), 'utf8');
}

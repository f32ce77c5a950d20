// Test-only helper: a scripted SageMaker runtime on loopback that writes exact event-stream bytes
// (encoded with Smithy's EventStreamCodec) and records each request, its socket's remote port and
// when that socket closed. Not a simulator (that lives in sim/sagemaker/).
import { createServer } from 'node:http';
import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';

const codec = new EventStreamCodec(toUtf8, fromUtf8);

export interface RuntimeRequest {
  path: string;
  body: string;
  remotePort: number;
  /** Resolves with performance.now() when the request's socket closes. */
  socketClosed: Promise<number>;
}

export type RuntimeScript = (req: RuntimeRequest, res: ServerResponse) => void | Promise<void>;

export interface FakeRuntime {
  url: string;
  requests: RuntimeRequest[];
  close(): Promise<void>;
}

export async function startFakeRuntime(script: RuntimeScript): Promise<FakeRuntime> {
  const requests: RuntimeRequest[] = [];
  const closedAt = new WeakMap<object, Promise<number>>();
  const server = createServer((raw, res) => {
    const socket = raw.socket;
    let closed = closedAt.get(socket);
    if (closed === undefined) {
      closed = new Promise<number>((resolve) => socket.once('close', () => resolve(performance.now())));
      closedAt.set(socket, closed);
    }
    const chunks: Buffer[] = [];
    raw.on('data', (c: Buffer) => chunks.push(c));
    raw.on('end', () => {
      const rec: RuntimeRequest = { path: raw.url ?? '', body: Buffer.concat(chunks).toString('utf8'), remotePort: socket.remotePort ?? 0, socketClosed: closed };
      requests.push(rec);
      void Promise.resolve(script(rec, res)).catch(() => res.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Response head of InvokeEndpointWithResponseStream; `containerType` is the container's type. */
export function streamHead(res: ServerResponse, containerType = 'text/event-stream'): void {
  res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-sagemaker-content-type': containerType });
  res.flushHeaders();
}

/** One PayloadPart message carrying `payload`. */
export function part(payload: string | Uint8Array): Uint8Array {
  return codec.encode({
    headers: {
      ':event-type': { type: 'string', value: 'PayloadPart' },
      ':content-type': { type: 'string', value: 'application/octet-stream' },
      ':message-type': { type: 'string', value: 'event' },
    },
    body: typeof payload === 'string' ? fromUtf8(payload) : payload,
  });
}

/** TGI SSE bytes for a token event, or the final event when `final` is given. */
export function tgiEvent(index: number, text: string, final?: string): string {
  const ev = {
    index,
    token: { id: index, text, logprob: -0.1, special: final !== undefined },
    generated_text: final ?? null,
    details: final === undefined ? null : { finish_reason: 'eos_token', generated_tokens: index },
  };
  return `data: ${JSON.stringify(ev)}\n\n`;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

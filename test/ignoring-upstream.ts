// Test helper: a fake text-generation upstream that ignores max_new_tokens (TGI native SSE and the
// OpenAI Messages API): every request gets UPSTREAM_TOKENS tokens unless the client closes it
// first. Records each request's body, how many token events it wrote and whether it ran to its end.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the fake streams if nobody stops it. */
export const UPSTREAM_TOKENS = 10_000;

export interface FakeRequest {
  path: string;
  body: Record<string, unknown>;
  /** Token events written when the response closed. */
  written: number;
  /** The response ran to its end (all UPSTREAM_TOKENS and the final event). */
  completed: boolean;
  /** Resolves when the response closed (either way). */
  closed: Promise<void>;
}

export interface FakeUpstream {
  url: string;
  requests: FakeRequest[];
  close(): Promise<void>;
}

function tgiNative(i: number, last: boolean): string {
  const token = { id: i, text: ` w${i}`, logprob: -0.1, special: false };
  const final = last ? { generated_text: 'the whole answer', details: { finish_reason: 'eos_token', generated_tokens: i + 1 } } : { generated_text: null, details: null };
  return `data: ${JSON.stringify({ index: i + 1, token, ...final })}\n\n`;
}

function openAiChunk(i: number, last: boolean): string {
  const choice = { index: 0, delta: { role: 'assistant', content: ` w${i}` }, finish_reason: last ? 'stop' : null };
  const chunk = `data: ${JSON.stringify({ object: 'chat.completion.chunk', id: '1', created: 0, model: 'fake', choices: [choice] })}\n\n`;
  return last ? `${chunk}data: [DONE]\n\n` : chunk;
}

/** Streams UPSTREAM_TOKENS tokens for every request, whatever max_new_tokens / max_tokens says,
 *  a few events per event-loop turn, until the client closes the connection. Answers TGI's native
 *  SSE on paths ending in /generate_stream, the Messages API's chunks on any other path. */
export async function startFakeUpstream(): Promise<FakeUpstream> {
  const requests: FakeRequest[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '';
      const event = path.endsWith('/generate_stream') ? tgiNative : openAiChunk;
      let done!: () => void;
      const rec: FakeRequest = {
        path,
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>,
        written: 0,
        completed: false,
        closed: new Promise<void>((r) => (done = r)),
      };
      requests.push(rec);
      let open = true;
      res.on('close', () => {
        open = false;
        done();
      });
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      const pump = (): void => {
        for (let k = 0; k < 8 && open; k++) {
          const i = rec.written;
          const last = i === UPSTREAM_TOKENS - 1;
          res.write(event(i, last));
          rec.written++;
          if (last) {
            rec.completed = true;
            res.end();
            return;
          }
        }
        if (open) setImmediate(pump);
      };
      pump();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

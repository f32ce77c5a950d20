// Test helper: a TGI (native /generate_stream SSE) upstream that streams a fixed answer, one word
// per token, `itlMs` apart, until its end or until the client closes the connection. Records
// whether each response was closed before its end.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ScriptedUpstream {
  url: string;
  /** One entry per request: resolves with true when the client closed it before its end. */
  responses: Promise<boolean>[];
  close(): Promise<void>;
}

export async function startScriptedUpstream(answer: string, itlMs: number): Promise<ScriptedUpstream> {
  const words = answer.split(' ');
  const responses: Promise<boolean>[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      let ended = false;
      responses.push(new Promise<boolean>((resolve) => res.on('close', () => resolve(!ended))));
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      let i = 0;
      const timer = setInterval(() => {
        const last = i === words.length - 1;
        const token = { id: i, text: `${i === 0 ? '' : ' '}${words[i]}`, logprob: -0.1, special: false };
        const final = last ? { generated_text: answer, details: { finish_reason: 'eos_token', generated_tokens: words.length } } : { generated_text: null, details: null };
        res.write(`data: ${JSON.stringify({ index: i + 1, token, ...final })}\n\n`);
        i++;
        if (last) {
          ended = true;
          clearInterval(timer);
          res.end();
        }
      }, itlMs);
      res.on('close', () => clearInterval(timer));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    responses,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

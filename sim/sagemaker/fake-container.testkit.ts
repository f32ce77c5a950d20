// Test-only helper: a tiny TGI-like container whose answer is a fixed list of token texts (e.g. with
// multi-byte UTF-8, which the simulated TGI never produces), streamed as TGI SSE on POST / when the
// body says `stream: true`, else answered as the compat JSON array.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeContainer {
  url: string;
  close(): Promise<void>;
}

export async function startFakeContainer(tokens: string[], gapMs = 2): Promise<FakeContainer> {
  const text = tokens.join('');
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { stream?: boolean };
      if (body.stream !== true) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify([{ generated_text: text, details: { finish_reason: 'eos_token', generated_tokens: tokens.length + 1 } }]));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const events: Record<string, unknown>[] = tokens.map((t, i) => ({
        index: i + 1,
        token: { id: 100 + i, text: t, logprob: -0.1, special: false },
        generated_text: null,
        details: null,
      }));
      events.push({
        index: tokens.length + 1,
        token: { id: 2, text: '</s>', logprob: -0.1, special: true },
        generated_text: text,
        details: { finish_reason: 'eos_token', generated_tokens: tokens.length + 1 },
      });
      let i = 0;
      const tick = (): void => {
        if (res.destroyed) return;
        const ev = events[i++];
        if (ev === undefined) return void res.end();
        res.write(`data: ${JSON.stringify(ev)}\n\n`);
        setTimeout(tick, gapMs);
      };
      tick();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

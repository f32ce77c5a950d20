// probe(): GET /health, falling back to GET /v1/models when the server has no /health route.
import { describe, expect, it } from 'vitest';
import { closedPort, sse, sseHead } from '../tgi/fake-tgi.testkit.ts';
import type { Script } from '../tgi/fake-tgi.testkit.ts';
import { backendFor, request, setup } from './setup.testkit.ts';

const routes = (table: Record<string, number>): Script => (req, res) => {
  res.writeHead(table[req.path] ?? 404, { 'content-type': 'application/json' });
  res.end('{}');
};

describe('OpenAI adapter: probe', () => {
  it('is true when /health answers 200 (no /v1/models call)', async () => {
    const { server, backend } = await setup(routes({ '/health': 200 }));
    expect(await backend.probe(500)).toBe(true);
    expect(server.requests.map((r) => r.path)).toEqual(['/health']);
  });

  it('falls back to /v1/models (with the API key) when /health is not a route', async () => {
    const { server } = await setup(routes({ '/api/v1/models': 200 }));
    const backend = backendFor(`${server.url}/api/v1`, { apiKey: 'sk-1' });
    expect(await backend.probe(500)).toBe(true);
    expect(server.requests.map((r) => r.path)).toEqual(['/api/health', '/api/v1/models']);
    expect(server.requests[1]?.headers.authorization).toBe('Bearer sk-1');
  });

  it('is false when /health says unhealthy, when nothing answers in time, or nothing listens', async () => {
    const sick = await setup(routes({ '/health': 503, '/v1/models': 200 }));
    expect(await sick.backend.probe(500)).toBe(false);
    expect(sick.server.requests).toHaveLength(1);
    const silent = await setup(() => undefined);
    const t0 = Date.now();
    expect(await silent.backend.probe(100)).toBe(false);
    expect(Date.now() - t0).toBeLessThan(400);
    const none = await setup(routes({}));
    expect(await none.backend.probe(500)).toBe(false);
    expect(await backendFor(`http://127.0.0.1:${await closedPort()}`).probe(500)).toBe(false);
  });

  it('does not queue behind the streams that fill the connection pool', async () => {
    const { backend } = await setup((req, res) => {
      if (req.path === '/health') return void res.end();
      sseHead(res);
      res.write(sse([{ choices: [{ delta: { content: 'x' } }] }])); // then hangs
    }, { maxConnections: 1 });
    const stream = backend.generate(request())[Symbol.asyncIterator]();
    await stream.next(); // the only pooled socket is now busy
    expect(await backend.probe(300)).toBe(true);
    await stream.return?.();
  });
});

// /info normalization across TGI versions and /health probing against scripted servers.
import { afterEach, describe, expect, it } from 'vitest';
import { VlpError } from '../../../protocol/errors.ts';
import { closedPort, startFakeTgi } from './fake-tgi.testkit.ts';
import type { FakeTgi, Script } from './fake-tgi.testkit.ts';
import { checkTgiHealth, fetchTgiInfo } from './info.ts';

const servers: FakeTgi[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function serve(script: Script): Promise<FakeTgi> {
  const s = await startFakeTgi(script);
  servers.push(s);
  return s;
}

function json(status: number, body: unknown): Script {
  return (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
}

describe('fetchTgiInfo', () => {
  it('reads TGI 3.x /info', async () => {
    const s = await serve(json(200, {
      model_id: 'meta-llama/Llama-2-7b-chat-hf', max_input_tokens: 4095, max_total_tokens: 4096,
      max_stop_sequences: 4, version: '3.3.7', max_concurrent_requests: 128,
    }));
    expect(await fetchTgiInfo(`${s.url}/`)).toEqual({
      model_id: 'meta-llama/Llama-2-7b-chat-hf', max_input_tokens: 4095, max_total_tokens: 4096,
      max_stop_sequences: 4, version: '3.3.7',
    });
    expect(s.requests[0]?.path).toBe('/info');
  });

  it('reads TGI 1.x max_input_length, under a path prefix', async () => {
    const s = await serve(json(200, { model_id: 'HuggingFaceM4/idefics-9b-instruct', max_input_length: 1024, max_total_tokens: 2048, version: '1.1.0' }));
    const info = await fetchTgiInfo(`${s.url}/idefics`);
    expect(info.max_input_tokens).toBe(1024);
    expect(s.requests[0]?.path).toBe('/idefics/info');
  });

  it('maps failures to upstream codes', async () => {
    const noModel = await serve(json(200, { version: '1' }));
    await expect(fetchTgiInfo(noModel.url)).rejects.toMatchObject({ code: 'UPSTREAM_PROTOCOL' });
    const busy = await serve(json(503, { error: 'unhealthy', error_type: 'healthcheck' }));
    await expect(fetchTgiInfo(busy.url)).rejects.toMatchObject({ code: 'UPSTREAM_OVERLOADED' });
    const port = await closedPort();
    await expect(fetchTgiInfo(`http://127.0.0.1:${port}`)).rejects.toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
    const silent = await serve(() => undefined);
    const err: unknown = await fetchTgiInfo(silent.url, 100).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VlpError);
    expect((err as VlpError).code).toBe('UPSTREAM_TIMEOUT');
  });
});

describe('checkTgiHealth', () => {
  it('is true only for a timely 200', async () => {
    const ok = await serve((_req, res) => {
      res.end();
    });
    expect(await checkTgiHealth(ok.url, 500)).toBe(true);
    expect(ok.requests[0]?.path).toBe('/health');
    const sick = await serve(json(503, { error: 'unhealthy', error_type: 'healthcheck' }));
    expect(await checkTgiHealth(sick.url, 500)).toBe(false);
    const silent = await serve(() => undefined);
    expect(await checkTgiHealth(silent.url, 100)).toBe(false);
    expect(await checkTgiHealth(`http://127.0.0.1:${await closedPort()}`, 500)).toBe(false);
  });
});

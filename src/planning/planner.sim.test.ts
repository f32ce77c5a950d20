// Integration: planning through LangChain against the simulated TGI over loopback HTTP, with the
// backend built by the ModelRegistry from a parsed config (router + native TGI adapter) exactly as
// the gateway builds it. Proves tokens flow from a real SSE stream through the LangChain chain, and
// that cancelling planning closes the upstream HTTP request (the simulator's request-closed event).
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTgiSim } from '../../sim/tgi/index.ts';
import type { RequestClosedEvent, RequestEvent, TgiSim } from '../../sim/tgi/index.ts';
import { ConfigSchema } from '../config/schema.ts';
import { ModelRegistry } from '../models.ts';
import { createLogger } from '../observability/log.ts';
import { isAbortError } from '../backends/abort.ts';
import type { GenEvent, TextGenBackend, TextGenRequest } from '../backends/ports.ts';
import { TextGenChatModel } from './langchain-llm.ts';
import { DEFAULT_PLAN_PARAMS, planSteps } from './planner.ts';

let sim: TgiSim;
let registry: ModelRegistry;
let backend: TextGenBackend;

beforeAll(async () => {
  sim = await startTgiSim({ ttftMs: 5, itlMs: 3, jitter: 0, traceEmits: true });
  const config = ConfigSchema.parse({
    defaultModel: 'llama-2-7b-chat',
    models: [{ id: 'llama-2-7b-chat', kind: 'llm', backend: 'tgi', urls: [sim.url], template: 'llama2-chat' }],
    upstream: { interTokenTimeoutMs: 30_000 },
  });
  registry = new ModelRegistry(config, createLogger('silent'));
  const entry = registry.get('llama-2-7b-chat');
  if (entry === undefined) throw new Error('model missing');
  backend = entry.backend;
});

afterAll(async () => {
  await registry.close();
  await sim.close();
});

/** Wraps a backend to record the requests it is given. */
function recording(inner: TextGenBackend): { backend: TextGenBackend; requests: TextGenRequest[] } {
  const requests: TextGenRequest[] = [];
  return {
    requests,
    backend: {
      id: inner.id,
      capabilities: inner.capabilities,
      generate: (r) => {
        requests.push(r);
        return inner.generate(r);
      },
      probe: (t) => inner.probe(t),
      close: () => inner.close(),
    },
  };
}

async function drain(events: AsyncIterable<GenEvent>): Promise<string> {
  for await (const ev of events) if (ev.kind === 'done') return ev.generatedText;
  throw new Error('no done event');
}

describe('planning against the simulated TGI', () => {
  it('streams tokens from /generate_stream through the LangChain model', async () => {
    const model = new TextGenChatModel({ backend, params: { ...DEFAULT_PLAN_PARAMS, seed: 11, max_new_tokens: 30 } });
    const closed = once(sim.events, 'request-closed') as Promise<[RequestClosedEvent]>;
    const chunks: string[] = [];
    for await (const c of await model.stream('What is the capital of France?')) chunks.push(c.text);
    const [ev] = await closed;
    expect(ev).toMatchObject({ route: '/generate_stream', completed: true });
    const visible = chunks.filter((t) => t !== '');
    expect(visible.length).toBeGreaterThan(5); // token by token, not one blob
    expect(visible.length).toBeLessThanOrEqual(ev.tokensSent);
    expect(chunks.join('')).toContain('France');
  });

  it('runs the plan chain over the real stream: the parser sees exactly what TGI generated', async () => {
    const seen: RequestEvent[] = [];
    const onRequest = (e: RequestEvent): void => {
      seen.push(e);
    };
    sim.events.on('request', onRequest);
    try {
      const rec = recording(backend);
      const plan = planSteps(rec.backend, 'Describe the cat in detail', { signal: new AbortController().signal, hasImage: true, params: { seed: 5 } });
      const steps = [];
      for await (const s of plan) steps.push(s);
      const result = await plan.result;
      // The simulator answers a decomposition prompt with a numbered list of 3-5 steps; the parser
      // yields each line's text without its number.
      expect(steps.length).toBeGreaterThanOrEqual(3);
      expect(steps.map((s) => s.index)).toEqual(steps.map((_, i) => i));
      for (const [i, s] of steps.entries()) expect(result.raw).toContain(`${i + 1}. ${s.text}`);
      expect(result.end).toBe('complete');
      expect(result.raw.length).toBeGreaterThan(20);
      // Same request straight through the port (sampling with a fixed seed is deterministic).
      const [req] = rec.requests;
      if (req === undefined) throw new Error('no request');
      const direct = await drain(backend.generate({ ...req, signal: new AbortController().signal }));
      expect(result.raw).toBe(direct);
      // The planning parameters reached TGI.
      expect(seen[0]?.params).toMatchObject({ top_k: 5, top_p: 0.96, typical_p: 0.95, temperature: 0.001, repetition_penalty: 1.08, max_new_tokens: 512 });
      expect(seen[0]?.seed).toBe(5);
      expect(seen[0]?.route).toBe('/generate_stream');
    } finally {
      sim.events.off('request', onRequest);
    }
  });

  it('closes the upstream request when the caller aborts planning', async () => {
    const emitted = new Promise<void>((resolve) => {
      let n = 0;
      const onToken = (): void => {
        if (++n === 3) {
          sim.events.off('token-emitted', onToken);
          resolve();
        }
      };
      sim.events.on('token-emitted', onToken);
    });
    const closed = once(sim.events, 'request-closed') as Promise<[RequestClosedEvent]>;
    const ac = new AbortController();
    // The stall fault: three tokens, then silence until the client goes away.
    const plan = planSteps(backend, 'Tell me about Paris [[sim:fault=stall;after=3]]', { signal: ac.signal, hasImage: false });
    const run = (async () => {
      for await (const _ of plan) void _;
    })();
    const settled = run.then(
      () => undefined,
      (e: unknown) => e,
    );
    await emitted;
    const abortedAt = performance.now();
    ac.abort('barge_in');
    const err = await settled;
    expect(isAbortError(err)).toBe(true);
    const [ev] = await closed;
    expect(ev.completed).toBe(false);
    expect(ev.tokensSent).toBe(3);
    expect(ev.atMs - abortedAt).toBeLessThan(100);
    await new Promise((r) => setTimeout(r, 10));
    expect(sim.inFlight()).toBe(0);
    await expect(plan.result).rejects.toSatisfy(isAbortError);
  });
});

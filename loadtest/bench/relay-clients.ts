// Load-generator clients of the relay benchmark: N direct SSE readers of the simulated TGI, N
// gateway sessions (raw ws + the protocol codec), and idle sessions that only say hello.
import WebSocket from 'ws';
import { Pool } from 'undici';
import { createParser } from 'eventsource-parser';
import { SageMakerRuntimeClient, InvokeEndpointWithResponseStreamCommand } from '@aws-sdk/client-sagemaker-runtime';
import { createClientCodec } from '../../protocol/codec.ts';
import type { ServerMessage } from '../../protocol/messages.ts';

export interface PhaseResult {
  streams: number;
  completed: number;
  tokens: number;
  /** Emit events not found for a received token (should be 0); set by settleLatencies. */
  missingEmits: number;
  seconds: number;
  /** Per token: arrival − emit at the simulator, ms; set by settleLatencies. */
  tokenLatencyMs: number[];
  ttftMs: number[];
  /** Arrivals as recorded: seed, token index (TGI's, from 1) and arrival time, flat triples. */
  arrivals: number[];
}

/** The simulator's token emit times, by request seed: index → monoMs() of the write. */
export type EmitTimes = Map<number, ArrayLike<number>>;

/** CLOCK_MONOTONIC in ms: one clock for every process on this machine (the simulator runs in its
 *  own process and stamps its writes with it). */
export const monoMs = (): number => Number(process.hrtime.bigint()) / 1e6;
const wallNow = monoMs;

const newResult = (n: number): PhaseResult => ({ streams: n, completed: 0, tokens: 0, missingEmits: 0, seconds: 0, tokenLatencyMs: [], ttftMs: [], arrivals: [] });

/** Per-token latencies of a finished phase, once the simulator's emit times are known. */
export function settleLatencies(res: PhaseResult, emits: EmitTimes): void {
  const a = res.arrivals;
  for (let k = 0; k < a.length; k += 3) {
    const emitted = emits.get(a[k] as number)?.[a[k + 1] as number];
    if (emitted) res.tokenLatencyMs.push((a[k + 2] as number) - emitted);
    else res.missingEmits++;
  }
  res.arrivals = [];
}

/** Which upstream API a phase reads: TGI native SSE, the Messages API, or SageMaker streaming. */
export type RelayPath = 'tgi' | 'openai' | 'sagemaker';

export interface DirectTarget {
  path: RelayPath;
  /** TGI base URL (tgi, openai) or SageMaker runtime URL (sagemaker). */
  url: string;
  endpointName?: string;
}
const PROMPT = 'Explain how a relay gateway streams tokens to many clients at once.';

/** Stream k starts at k * rampMs / n (ms after the phase starts): same schedule on both paths. */
const startDelay = (k: number, n: number, rampMs: number): Promise<void> =>
  rampMs > 0 ? new Promise((r) => setTimeout(r, (k * rampMs) / n)) : Promise.resolve();

/** Read N streams straight from the simulator (no gateway) over the given upstream API. */
export async function runDirect(target: DirectTarget, n: number, tokens: number, seedBase: number, rampMs = 0): Promise<PhaseResult> {
  if (target.path === 'sagemaker') return runDirectSageMaker(target, n, tokens, seedBase, rampMs);
  const chat = target.path === 'openai';
  const simUrl = target.url;
  const pool = new Pool(simUrl, { connections: n, pipelining: 1 });
  const res = newResult(n);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: n }, async (_, k) => {
      await startDelay(k, n, rampMs);
      const seed = seedBase + k;
      const start = wallNow();
      let first = true;
      const body0 = chat
        ? { model: 'tgi', stream: true, max_tokens: tokens, seed, messages: [{ role: 'user', content: PROMPT }] }
        : { inputs: `[INST] ${PROMPT} [/INST]`, parameters: { max_new_tokens: tokens, seed, details: true } };
      const { body, statusCode } = await pool.request({
        method: 'POST',
        path: chat ? '/v1/chat/completions' : '/generate_stream',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body0),
      });
      if (statusCode !== 200) throw new Error(`direct stream status ${statusCode}`);
      let done = false;
      let count = 0;
      const parser = createParser({
        onEvent: (ev) => {
          const at = wallNow();
          if (ev.data === '[DONE]') return;
          let index: number;
          if (chat) {
            const m = JSON.parse(ev.data) as { choices: { delta: { content?: string }; finish_reason: string | null }[] };
            const ch = m.choices[0];
            if (!ch) return;
            if (ch.finish_reason !== null) done = true;
            if (!ch.delta.content) return;
            index = ++count;
          } else {
            const m = JSON.parse(ev.data) as { index: number; generated_text: string | null };
            index = m.index;
            if (m.generated_text !== null) done = true;
          }
          recordToken(res, at, seed, index, first ? start : -1);
          first = false;
        },
      });
      const dec = new TextDecoder();
      for await (const chunk of body) parser.feed(dec.decode(chunk as Uint8Array, { stream: true }));
      if (done) res.completed++;
    }),
  );
  res.seconds = (performance.now() - t0) / 1000;
  await pool.close();
  return res;
}

function recordToken(res: PhaseResult, at: number, seed: number, index: number, startIfFirst: number): void {
  if (startIfFirst >= 0) res.ttftMs.push(at - startIfFirst);
  res.arrivals.push(seed, index, at);
  res.tokens++;
}

/** Direct SageMaker reads with the real AWS SDK (event stream → TGI SSE bytes → events). */
async function runDirectSageMaker(target: DirectTarget, n: number, tokens: number, seedBase: number, rampMs: number): Promise<PhaseResult> {
  // As the gateway's adapter does: enough sockets for every stream (the SDK default of 50 queues).
  const agent = { keepAlive: true, maxSockets: n };
  const client = new SageMakerRuntimeClient({
    endpoint: target.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDBENCH', secretAccessKey: 'bench' },
    maxAttempts: 1,
    requestHandler: { httpAgent: agent, httpsAgent: agent },
  });
  const res = newResult(n);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: n }, async (_, k) => {
      await startDelay(k, n, rampMs);
      const seed = seedBase + k;
      const start = wallNow();
      let first = true;
      let done = false;
      const out = await client.send(
        new InvokeEndpointWithResponseStreamCommand({
          EndpointName: target.endpointName,
          ContentType: 'application/json',
          Body: new TextEncoder().encode(JSON.stringify({ inputs: `[INST] ${PROMPT} [/INST]`, parameters: { max_new_tokens: tokens, seed, details: true }, stream: true })),
        }),
      );
      const dec = new TextDecoder();
      const parser = createParser({
        onEvent: (ev) => {
          const at = wallNow();
          const m = JSON.parse(ev.data) as { index: number; generated_text: string | null };
          recordToken(res, at, seed, m.index, first ? start : -1);
          first = false;
          if (m.generated_text !== null) done = true;
        },
      });
      for await (const part of out.Body ?? []) {
        if (part.PayloadPart?.Bytes) parser.feed(dec.decode(part.PayloadPart.Bytes, { stream: true }));
      }
      if (done) res.completed++;
    }),
  );
  res.seconds = (performance.now() - t0) / 1000;
  client.destroy();
  return res;
}

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ['vlp.v1.msgpack'], { perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

async function hello(url: string): Promise<WebSocket> {
  const ws = await open(url);
  const codec = createClientCodec('vlp.v1.msgpack');
  await new Promise<void>((resolve, reject) => {
    ws.once('message', (data: Buffer) => {
      const r = codec.decode(new Uint8Array(data));
      if (r.ok && r.msg.t === 'ready') resolve();
      else reject(new Error('no ready'));
    });
    ws.send(codec.encode({ t: 'hello', client: 'bench' }));
  });
  return ws;
}

export async function openIdleSessions(url: string, n: number): Promise<WebSocket[]> {
  const out: WebSocket[] = [];
  const BATCH = 100;
  for (let k = 0; k < n; k += BATCH) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(BATCH, n - k) }, () => hello(url)))));
  }
  return out;
}

/** One turn on each of the given (already opened) sessions, all at once. */
export async function runGateway(sockets: WebSocket[], tokens: number, seedBase: number, rampMs = 0, model?: string): Promise<PhaseResult> {
  const n = sockets.length;
  const res = newResult(n);
  const t0 = performance.now();
  await Promise.all(
    sockets.map(
      async (ws, k) => {
        await startDelay(k, n, rampMs);
        return new Promise<void>((resolve, reject) => {
          const codec = createClientCodec('vlp.v1.msgpack');
          const seed = seedBase + k;
          let start = 0;
          let first = true;
          ws.on('message', (data: Buffer) => {
            const at = wallNow();
            const r = codec.decode(new Uint8Array(data));
            if (!r.ok) return reject(new Error(`bad frame ${r.code}`));
            const m: ServerMessage = r.msg;
            switch (m.t) {
              case 'gen.token': {
                if (first) {
                  res.ttftMs.push(at - start);
                  first = false;
                }
                // Visible token i is TGI's token i + 1 (the simulator sends no special tokens).
                for (let j = m.i; j < m.i + m.n; j++) res.arrivals.push(seed, j + 1, at);
                res.tokens += m.n;
                return;
              }
              case 'gen.done':
                res.completed++;
                ws.removeAllListeners('message');
                return resolve();
              case 'error':
                ws.close();
                return reject(new Error(`gateway error ${m.code}: ${m.message}`));
              default:
                return;
            }
          });
          start = wallNow();
          ws.send(codec.encode({ t: 'turn.start', id: `b${seed}`, text: PROMPT, params: { max_new_tokens: tokens, seed }, ...(model !== undefined ? { model } : {}) }));
        });
      },
    ),
  );
  res.seconds = (performance.now() - t0) / 1000;
  return res;
}

// Benchmark (run with `npx tsx src/backends/asr/bench-whisperlive.ts`): CPU time of one
// WhisperLive write() of 20 ms of audio (320 samples → one 1280-byte float32 frame), measured
// around the call, against a local server; the event loop runs between writes, so each frame meets
// an empty socket buffer as in real time. Also the float conversion alone and a bare ws.send of a
// fresh Float32Array, for comparison. Set WS_NO_BUFFER_UTIL=1 to measure without bufferutil.
import WebSocket from 'ws';
import { readyOnOptions, startFakeWhisperLive } from './fake-whisperlive.testkit.ts';
import { createWhisperLiveBackend } from './whisperlive.ts';

const out = (line: string): void => void process.stdout.write(`${line}\n`);
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
const WARMUP = 2_000;
const N = 20_000;

function report(label: string, times: number[]): void {
  times.sort((a, b) => a - b);
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  const at = (q: number): number => times[Math.min(times.length - 1, Math.floor(times.length * q))] ?? 0;
  out(`${label}: n=${times.length} mean ${mean.toFixed(2)} µs, p50 ${at(0.5).toFixed(2)} µs, p99 ${at(0.99).toFixed(2)} µs, max ${at(1).toFixed(1)} µs`);
}

function chunk(): Int16Array {
  const pcm = new Int16Array(320);
  for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round(Math.sin(i / 7) * 8000);
  return pcm;
}

async function adapterWrites(): Promise<void> {
  const wl = await startFakeWhisperLive(readyOnOptions);
  const backend = createWhisperLiveBackend({ kind: 'whisperlive', url: wl.url });
  const s = backend.open({ task: 'transcribe' }, { onEvent: () => undefined });
  const c = await wl.connection(0);
  await c.options;
  while (c.texts.length === 0) await tick();
  await new Promise((r) => setTimeout(r, 20)); // SERVER_READY in
  const pcm = chunk();
  const times: number[] = [];
  let refused = 0;
  for (let i = 0; i < WARMUP + N; i++) {
    const t0 = process.hrtime.bigint();
    const ok = s.write(pcm);
    const dt = Number(process.hrtime.bigint() - t0) / 1000;
    if (i >= WARMUP) times.push(dt);
    if (!ok) refused++;
    await tick();
  }
  report('adapter write() of 20 ms', times);
  if (refused > 0) out(`  (write() refused ${refused} times: back-pressure)`);
  while (c.sampleCount < (WARMUP + N) * 320) await tick();
  s.close();
  await backend.close();
  await wl.close();
}

function conversionOnly(): void {
  const pcm = chunk();
  const f = new Float32Array(320);
  const times: number[] = [];
  for (let i = 0; i < WARMUP + N; i++) {
    const t0 = process.hrtime.bigint();
    for (let j = 0; j < 320; j++) f[j] = (pcm[j] as number) * (1 / 32768);
    const dt = Number(process.hrtime.bigint() - t0) / 1000;
    if (i >= WARMUP) times.push(dt);
  }
  report('int16 → float32 conversion alone', times);
}

async function bareSend(): Promise<void> {
  const wl = await startFakeWhisperLive();
  const ws = new WebSocket(wl.url, { perMessageDeflate: false });
  await new Promise((r) => ws.once('open', r));
  const times: number[] = [];
  for (let i = 0; i < WARMUP + N; i++) {
    const t0 = process.hrtime.bigint();
    ws.send(new Float32Array(320));
    const dt = Number(process.hrtime.bigint() - t0) / 1000;
    if (i >= WARMUP) times.push(dt);
    await tick();
  }
  report('bare ws.send(new Float32Array(320))', times);
  ws.terminate();
  await wl.close();
}

out(`node ${process.version}, bufferutil ${process.env.WS_NO_BUFFER_UTIL ? 'off' : 'on (if installed)'}`);
await adapterWrites();
conversionOnly();
await bareSend();
await adapterWrites();

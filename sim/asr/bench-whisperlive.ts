// CPU cost per audio frame of the simulated WhisperLive server. The server runs in a child process
// (so the client's own work is not counted) and reports process.cpuUsage() over IPC; the parent
// streams 20 ms float32 frames of a registered clip (speech, pauses, partial ticks and finals all
// happen) and divides the server's CPU time by the frames it received.
// `--bare` measures a server that only counts frames, for the floor of Node + the WebSocket library
// itself: uWebSockets.js (what the simulator runs on), or `ws` with `--bare-ws`.
//   npx tsx sim/asr/bench-whisperlive.ts [--connections 20] [--seconds 5] [--burst 1000] [--bare | --bare-ws]
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import WebSocket, { WebSocketServer } from 'ws';
import uWS from 'uWebSockets.js';

interface BareServer {
  url: string;
  stats(): { frames: number; segmentsMessages: number };
  close(): Promise<void>;
}

const SERVER_READY = '{"uid": "x", "message": "SERVER_READY", "backend": "faster_whisper"}';

/** A uWS server that answers SERVER_READY and counts frames: the cost floor of Node + uWS. */
async function bareUwsServer(): Promise<BareServer> {
  let frames = 0;
  const app = uWS.App().ws<{ first: boolean }>('/*', {
    compression: uWS.DISABLED,
    maxPayloadLength: 1 << 20,
    idleTimeout: 0,
    upgrade: (res, req, context) => {
      res.upgrade({ first: true }, req.getHeader('sec-websocket-key'), req.getHeader('sec-websocket-protocol'), req.getHeader('sec-websocket-extensions'), context);
    },
    message: (ws, message) => {
      const d = ws.getUserData();
      if (d.first) {
        d.first = false;
        ws.send(SERVER_READY, false);
      } else if (new Float32Array(message).length > 0) frames++;
    },
  });
  const ls = await new Promise<uWS.us_listen_socket>((resolve, reject) => app.listen('127.0.0.1', 0, (s) => (s === false ? reject(new Error('listen failed')) : resolve(s))));
  return { url: `ws://127.0.0.1:${uWS.us_socket_local_port(ls)}`, stats: () => ({ frames, segmentsMessages: 0 }), close: async () => uWS.us_listen_socket_close(ls) };
}

/** A ws server that answers SERVER_READY and counts frames: the cost floor of Node + ws. */
async function bareServer(): Promise<BareServer> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false, maxPayload: 1 << 20 });
  await new Promise((r) => wss.once('listening', r));
  let frames = 0;
  wss.on('connection', (ws) => {
    let first = true;
    ws.on('message', () => {
      if (first) {
        first = false;
        ws.send(SERVER_READY);
      } else frames++;
    });
  });
  const { port } = wss.address() as { port: number };
  return { url: `ws://127.0.0.1:${port}`, stats: () => ({ frames, segmentsMessages: 0 }), close: () => new Promise((r) => wss.close(() => r())) };
}

if (process.argv.includes('--child')) {
  const { startWhisperLiveSim } = await import('./whisperlive.ts');
  const sim = process.argv.includes('--bare') ? await bareUwsServer() : process.argv.includes('--bare-ws') ? await bareServer() : await startWhisperLiveSim({ modelLoadMs: 0, maxClients: 100_000 });
  process.on('message', (m: string) => {
    if (m === 'cpu') process.send?.({ cpu: process.cpuUsage(), frames: sim.stats().frames, segments: sim.stats().segmentsMessages });
    if (m === 'exit') void sim.close().then(() => process.exit(0));
  });
  process.send?.({ url: sim.url });
} else {
  const { values } = parseArgs({ options: { connections: { type: 'string' }, seconds: { type: 'string' }, burst: { type: 'string' }, bare: { type: 'boolean' }, 'bare-ws': { type: 'boolean' } } });
  const conns = Number(values.connections ?? 20);
  const seconds = Number(values.seconds ?? 5);
  const burst = Number(values.burst ?? 1000);
  const { ensureAudioClips } = await import('./clip-gen.ts');
  const { parseWav, wavTo16kMono } = await import('./wav.ts');
  const files = await ensureAudioClips();
  const speech = wavTo16kMono(parseWav(readFileSync(files.wav['describe-long'])));
  const frame = (i: number): Buffer => {
    const start = (i * 320) % (speech.length - 320);
    return Buffer.from(speech.slice(start, start + 320).buffer);
  };
  const child: ChildProcess = fork(new URL(import.meta.url).pathname, ['--child', ...(values.bare ? ['--bare'] : []), ...(values['bare-ws'] ? ['--bare-ws'] : [])], { execArgv: ['--import', 'tsx', ...(process.env.BENCH_PROF ? ['--cpu-prof', '--cpu-prof-dir=.tmp/prof'] : [])] });
  const ask = (): Promise<{ cpu: NodeJS.CpuUsage; frames: number; segments: number }> =>
    new Promise((resolve) => {
      child.once('message', (m) => resolve(m as { cpu: NodeJS.CpuUsage; frames: number; segments: number }));
      child.send('cpu');
    });
  const { url } = await new Promise<{ url: string }>((resolve) => child.once('message', (m) => resolve(m as { url: string })));
  const open = async (uid: string): Promise<WebSocket> => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ uid, language: 'en', task: 'transcribe', model: 'small', use_vad: true }));
    await new Promise((r) => ws.once('message', r));
    return ws;
  };
  const report = (label: string, a: { cpu: NodeJS.CpuUsage; frames: number; segments: number }, b: { cpu: NodeJS.CpuUsage; frames: number; segments: number }, wallMs: number): void => {
    const us = b.cpu.user - a.cpu.user + (b.cpu.system - a.cpu.system);
    const frames = b.frames - a.frames;
    process.stdout.write(
      `${label}: ${frames} frames, ${b.segments - a.segments} segments messages, server CPU ${(us / 1000).toFixed(1)} ms over ${(wallMs / 1000).toFixed(1)} s → ${(us / frames).toFixed(2)} µs/frame (user ${((b.cpu.user - a.cpu.user) / frames).toFixed(2)}, system ${((b.cpu.system - a.cpu.system) / frames).toFixed(2)})\n`,
    );
  };

  // 1) Burst: one connection, `burst` frames back to back (20 ms each = 20 s of audio at once).
  {
    const ws = await open('burst');
    const a = await ask();
    const t0 = performance.now();
    for (let i = 0; i < burst; i++) ws.send(frame(i));
    while ((await ask()).frames - a.frames < burst) await new Promise((r) => setTimeout(r, 20));
    report(`burst (1 connection × ${burst} frames)`, a, await ask(), performance.now() - t0);
    ws.close();
  }
  // 2) Paced: `conns` connections × 50 frames/s for `seconds` (real-time streaming).
  {
    const sockets = await Promise.all(Array.from({ length: conns }, (_, i) => open(`paced-${i}`)));
    const a = await ask();
    const t0 = performance.now();
    let n = 0;
    const total = seconds * 50;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        for (let c = 0; c < sockets.length; c++) sockets[c]?.send(frame(n + c * 37));
        if (++n >= total) {
          clearInterval(timer);
          resolve();
        }
      }, 20);
    });
    await new Promise((r) => setTimeout(r, 1500)); // let the last ticks and finals run
    report(`paced (${conns} connections × 50 frames/s × ${seconds} s)`, a, await ask(), performance.now() - t0);
    for (const s of sockets) s.close();
  }
  child.send('exit');
}

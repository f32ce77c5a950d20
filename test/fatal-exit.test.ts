// A bug that throws outside every try (an uncaught exception in a callback) does not kill the
// gateway bare: it logs the failure without its message, sends goaway to the connected clients
// and exits non-zero.
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { freePort } from '../loadtest/bench/gateway-proc.ts';
import { createClientCodec } from '../protocol/codec.ts';
import type { ServerMessage } from '../protocol/messages.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PRELOAD = fileURLToPath(new URL('./fixtures/throw-later.mjs', import.meta.url));

describe('uncaught failure', () => {
  it('is logged safely, clients get goaway, the process exits 1', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', PRELOAD, '--import', 'tsx', 'src/main.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: String(port), VLP_HOST: '127.0.0.1', VLP_SHUTDOWN_GRACE_MS: '200' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    // Connect as soon as the gateway listens, before the preload throws.
    await new Promise<void>((resolve, reject) => {
      const t = setInterval(() => {
        if (out.includes('vlp-live gateway listening')) {
          clearInterval(t);
          resolve();
        }
      }, 20);
      void exited.then(() => reject(new Error(`exited before listening:\n${out}`)));
    });
    const codec = createClientCodec('vlp.v1.msgpack');
    const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/ws`, 'vlp.v1.msgpack');
    const frames: ServerMessage[] = [];
    ws.on('message', (d: Buffer) => {
      const r = codec.decode(new Uint8Array(d));
      if (r.ok) frames.push(r.msg);
    });
    await new Promise<void>((resolve) => ws.once('open', () => resolve()));
    ws.send(codec.encode({ t: 'hello' }));
    const code = await exited;
    expect(code).toBe(1);
    expect(frames.some((f) => f.t === 'goaway')).toBe(true);
    const fatal = out.split('\n').filter((l) => l.includes('uncaught failure'));
    expect(fatal).toHaveLength(1);
    expect(JSON.parse(fatal[0] as string)).toMatchObject({ level: 60, reason: 'uncaughtException', error: { type: 'TypeError' } });
    expect(out).not.toContain('secret user words');
  }, 40_000);
});

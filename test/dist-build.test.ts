// The production build: `tsc -p tsconfig.build.json` plus its run-time assets, compiled as the
// benchmarks do (gateway-build.ts) and started with plain `node` (no tsx). The compiled gateway starts its embedded simulated fleet, answers a text and a
// spoken question through the real CLI code, and exits cleanly on SIGTERM.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { TextSink } from './text-sink.ts';
import { fileURLToPath } from 'node:url';
import { runCli } from '../clients/node/cli.ts';
import { ensureAudioClips } from '../sim/asr/index.ts';
import { freePort } from '../loadtest/bench/gateway-proc.ts';
import { prepareGateway, type GatewayEntry } from '../loadtest/bench/gateway-build.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

describe('production build (dist)', () => {
  let child: ChildProcess | undefined;
  let port = 0;
  let log = '';
  let entry: GatewayEntry | undefined;

  beforeAll(async () => {
    // Inside the repository (gitignored .tmp/) so the compiled code resolves node_modules as dist/ does.
    entry = prepareGateway('dist');
    port = await freePort();
    child = spawn(process.execPath, entry.argv, {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: String(port), VLP_HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (d: Buffer) => (log += d.toString('utf8')));
    child.stderr?.on('data', (d: Buffer) => (log += d.toString('utf8')));
    const deadline = Date.now() + 20_000;
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false);
      if (ok) break;
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the compiled gateway did not become ready:\n${log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }, 90_000);

  afterAll(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    entry?.dispose();
  });

  async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
    const stdout = new TextSink();
    const stderr = new TextSink();
    const code = await runCli(['--url', `ws://127.0.0.1:${port}/v1/ws`, ...args], { stdout, stderr, env: {} });
    return { code, out: stdout.text, err: stderr.text };
  }

  it('starts with plain node and says it serves a simulated fleet', () => {
    expect(log).toMatch(/SIMULATED FLEET/);
    expect(log).toMatch(/vlp-live gateway listening/);
  });

  it('streams a text answer', async () => {
    const r = await cli(['--max-new-tokens', '8', 'What is the capital of France?']);
    expect(r.code).toBe(0);
    expect(r.out.trim().length).toBeGreaterThan(0);
    expect(r.err).toMatch(/finish=length tokens=8 ttft_ms=/);
  });

  it('transcribes a registered clip with the compiled simulator (its clips.json was copied)', async () => {
    const clips = await ensureAudioClips();
    const r = await cli(['--max-new-tokens', '6', '--audio', clips.wav['hello-how-are-you']]);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/you said: hello, how are you today/i);
    expect(r.err).toMatch(/tokens=6/);
  }, 30_000);

  it('exits 0 on SIGTERM (graceful shutdown)', async () => {
    const proc = child as ChildProcess;
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 20_000);

  it('is a private build under .tmp/ with its assets, and dispose removes it', () => {
    const e = entry as GatewayEntry;
    const main = e.argv[0] ?? '';
    expect(e.argv).toHaveLength(1);
    expect(main).toMatch(/\.tmp\/bench-dist-\d+\/src\/main\.js$/);
    expect(existsSync(main)).toBe(true);
    expect(existsSync(main.replace(/src\/main\.js$/, 'sim/asr/clips.json'))).toBe(true);
    e.dispose();
    expect(existsSync(main)).toBe(false);
  });
});

// CLI tests: runCli() in-process against the fake gateway (output, flags, exit codes, Ctrl-C,
// timeout), plus the real entry module run by tsx in a child process (help, SIGINT → 130).
import { spawn } from 'node:child_process';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from './cli.ts';
import { startFakeGateway, TOKENS, type FakeGateway } from './fake-gateway.ts';

let gw: FakeGateway;

beforeEach(async () => {
  gw = await startFakeGateway();
});

afterEach(async () => {
  await gw.close();
});

class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

async function run(argv: string[], opts: { signal?: AbortSignal; env?: Record<string, string> } = {}) {
  const stdout = new Sink();
  const stderr = new Sink();
  const code = await runCli(argv, { stdout, stderr, env: opts.env ?? {}, ...(opts.signal !== undefined && { signal: opts.signal }) });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

describe('runCli', () => {
  it('streams the answer to stdout and a summary line to stderr', async () => {
    const r = await run(['--url', gw.url, 'What is the capital of France?']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${TOKENS.join('')}\n`);
    expect(r.stderr).toBe(`finish=eos_token tokens=${TOKENS.length} ttft_ms=3 total_ms=9\n`);
    expect(gw.subprotocols).toEqual(['vlp.v1.msgpack']);
  });

  it('passes model, generation parameters and system prompt', async () => {
    const r = await run([
      '--url', gw.url, '--model', 'llama-2-7b-chat', '--max-new-tokens', '32', '--temperature', '0.7',
      '--seed', '42', '--system', 'Be terse.', 'Hello', 'there',
    ]);
    expect(r.code).toBe(0);
    expect(gw.received[0]).toMatchObject({ t: 'hello', options: { system_prompt: 'Be terse.' } });
    expect(gw.received[1]).toEqual({
      t: 'turn.start',
      id: 't1',
      text: 'Hello there',
      model: 'llama-2-7b-chat',
      params: { max_new_tokens: 32, temperature: 0.7, seed: 42 },
    });
  });

  it('--json uses the vlp.v1.json subprotocol; VLP_URL sets the default URL', async () => {
    const r = await run(['--json', 'hi'], { env: { VLP_URL: gw.url } });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${TOKENS.join('')}\n`);
    expect(gw.subprotocols).toEqual(['vlp.v1.json']);
  });

  it('--events prints every frame as one JSON line', async () => {
    const r = await run(['--url', gw.url, '--events', 'hi']);
    expect(r.code).toBe(0);
    const frames = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { t: string });
    expect(frames.map((f) => f.t)).toEqual(['ready', 'turn.started', ...TOKENS.map(() => 'gen.token'), 'gen.done']);
    expect(r.stderr).toMatch(/^finish=eos_token /);
  });

  it('exits 1 and prints the code on an error frame', async () => {
    const r = await run(['--url', gw.url, 'ERROR']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('error UPSTREAM_OVERLOADED: model overloaded\n');
  });

  it('exits 1 on a fatal error that closes the connection', async () => {
    const r = await run(['--url', gw.url, 'FATAL']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error SERVER_SHUTTING_DOWN: shutting down\n');
  });

  it('exits 1 when the gateway cannot be reached', async () => {
    const url = gw.url;
    await gw.close();
    const r = await run(['--url', url, 'hi']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error CLIENT_CONNECT_FAILED: /);
  });

  it('exits 1 with CLIENT_TIMEOUT after --timeout-ms, cancelling the turn', async () => {
    const r = await run(['--url', gw.url, '--timeout-ms', '150', 'SLOW']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error CLIENT_TIMEOUT: /);
    expect(gw.received).toContainEqual({ t: 'turn.cancel', id: 't1' });
  });

  it('on Ctrl-C sends turn.cancel, waits for turn.cancelled and exits 130', async () => {
    const ac = new AbortController();
    const stdout = new Sink();
    const stderr = new Sink();
    const done = runCli(['--url', gw.url, 'SLOW'], { stdout, stderr, env: {}, signal: ac.signal });
    await expect.poll(() => stdout.text.length).toBeGreaterThan(0);
    const t0 = performance.now();
    ac.abort();
    expect(await done).toBe(130);
    expect(performance.now() - t0).toBeLessThan(1_000); // turn.cancelled came back, no grace wait
    expect(gw.received).toContainEqual({ t: 'turn.cancel', id: 't1' });
    expect(stderr.text).toBe('interrupted\n');
  });

  it('exits 2 on usage errors and 0 on --help', async () => {
    expect((await run([])).code).toBe(2);
    expect((await run(['--nope', 'hi'])).code).toBe(2);
    const bad = await run(['--max-new-tokens', 'abc', 'hi']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--max-new-tokens must be an integer/);
    expect((await run(['--temperature', '0', 'hi'])).code).toBe(2);
    expect((await run(['--url', 'http://x', 'hi'])).code).toBe(2);
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: npm run cli/);
    expect(gw.received).toEqual([]);
  });
});

describe('cli.ts entry module', () => {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const tsx = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));

  function start(args: string[]) {
    const child = spawn(tsx, ['clients/node/cli.ts', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    return { child, exit, out: () => stdout, err: () => stderr };
  }

  it('runs main only as the entry module (--help exits 0)', async () => {
    const p = start(['--help']);
    expect(await p.exit).toBe(0);
    expect(p.out()).toMatch(/^usage: npm run cli/);
  });

  it('SIGINT cancels the turn and exits 130', async () => {
    const p = start(['--url', gw.url, 'SLOW']);
    await expect.poll(() => p.out().length, { timeout: 15_000 }).toBeGreaterThan(0);
    p.child.kill('SIGINT');
    expect(await p.exit).toBe(130);
    expect(p.err()).toContain('interrupted');
    expect(gw.received).toContainEqual({ t: 'turn.cancel', id: 't1' });
  });
});

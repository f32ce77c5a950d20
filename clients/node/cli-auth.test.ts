// The CLI's API key: --api-key, else VLP_API_KEY, sent as Authorization: Bearer; a refused
// handshake exits 1 with CLIENT_UNAUTHORIZED; the key is never printed.
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { USAGE } from './cli-args.ts';
import { runCli } from './cli.ts';
import { startFakeGateway, type FakeGateway } from './fake-gateway.ts';

class TextSink extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString('utf8');
    cb();
  }
}

const KEY = 'cli-api-key-0123456789';
let gw: FakeGateway;

beforeEach(async () => {
  gw = await startFakeGateway();
});

afterEach(async () => {
  await gw.close();
});

async function run(argv: string[], env: Record<string, string> = {}) {
  const stdout = new TextSink();
  const stderr = new TextSink();
  const code = await runCli(['--url', gw.url, ...argv], { stdout, stderr, env });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

describe('CLI API key', () => {
  it('sends --api-key, else VLP_API_KEY, as Authorization: Bearer (the flag wins)', async () => {
    expect((await run(['--api-key', KEY, 'hi'])).code).toBe(0);
    expect((await run(['hi'], { VLP_API_KEY: KEY })).code).toBe(0);
    expect((await run(['--api-key', KEY, 'hi'], { VLP_API_KEY: 'env-key-0123456789' })).code).toBe(0);
    expect((await run(['hi'])).code).toBe(0);
    expect(gw.authorizations).toEqual([`Bearer ${KEY}`, `Bearer ${KEY}`, `Bearer ${KEY}`, undefined]);
  });

  it('exits 1 with CLIENT_UNAUTHORIZED when the gateway refuses, without printing the key', async () => {
    gw.requireKey = KEY;
    const r = await run(['--api-key', 'wrong-key-0123456789', 'hi']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error CLIENT_UNAUTHORIZED: /);
    expect(r.stderr + r.stdout).not.toContain('wrong-key');
    expect((await run(['--api-key', KEY, 'hi'])).code).toBe(0);
  });

  it('documents --api-key and VLP_API_KEY in the usage text', () => {
    expect(USAGE).toMatch(/--api-key KEY +API key .*\n.*\(env VLP_API_KEY/);
  });
});

// CLI tests: runCli() in-process against the fake gateway (output, flags, exit codes, Ctrl-C,
// timeout; voice input with scripted transcripts), plus the real entry module run by tsx in a
// child process (help, SIGINT → 130).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
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
    expect(frames.map((f) => f.t)).toEqual(['ready', 'turn.started', ...TOKENS.map(() => 'gen.token'), 'gen.done', 'turn.metrics']);
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

  it('--audio with a file ffmpeg decodes runs to the end and exits 0 (no process left behind)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vlp-cli-entry-'));
    try {
      const mp3 = join(dir, 'q.mp3');
      execFileSync('ffmpeg', ['-nostdin', '-loglevel', 'error', '-f', 'lavfi', '-i', 'sine=frequency=300:duration=0.4', '-ac', '1', mp3]);
      const p = start(['--url', gw.url, '--audio', mp3, '--speed', '2']);
      expect(await p.exit).toBe(0);
      expect(p.out()).toBe(`${TOKENS.join('')}\n`);
      expect(p.err()).toContain('you said: What is the capital of France?\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
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

describe('runCli --audio', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vlp-cli-audio-'));
  const wav = join(dir, 'question.wav');
  const png = join(dir, 'dog.png');
  beforeAll(async () => {
    writeFileSync(wav, sineWav(300)); // 16 kHz PCM16 mono: sent as is
    await sharp({ create: { width: 4, height: 3, channels: 3, background: { r: 200, g: 200, b: 200 } } }).png().toFile(png);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  class TtySink extends Sink {
    readonly isTTY = true;
    readonly columns = 40;
  }

  it('streams the audio, shows partials and the transcript on stderr, the answer on stdout', async () => {
    const r = await run(['--url', gw.url, '--audio', wav, '--speed', '2']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${TOKENS.join('')}\n`);
    expect(r.stderr).toBe(
      [
        '… partial: What',
        '… partial: What is',
        '… partial: What is the',
        'you said: What is the capital of France?',
        `finish=eos_token tokens=${TOKENS.length} ttft_ms=3 total_ms=9`,
        '',
      ].join('\n'),
    );
    const audio = gw.received.filter((m) => m.t.startsWith('audio.'));
    expect(audio[0]).toEqual({ t: 'audio.start', format: { encoding: 'pcm16', sample_rate: 16_000, channels: 1 } });
    expect(audio.slice(1, -1)).toHaveLength(15); // 300 ms in 20 ms chunks
    expect(audio.at(-1)).toEqual({ t: 'audio.end' });
    // Paced: 15 chunks at 2x real time span 140 ms (lower bound only).
    expect((gw.audioChunkTimes.at(-1) as number) - (gw.audioChunkTimes[0] as number)).toBeGreaterThanOrEqual(120);
  });

  it('--json sends the audio as base64 in text frames', async () => {
    const r = await run(['--url', gw.url, '--json', '--audio', wav, '--speed', '2']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${TOKENS.join('')}\n`);
    expect(gw.subprotocols).toEqual(['vlp.v1.json']);
    const chunks = gw.received.flatMap((m) => (m.t === 'audio.chunk' ? [m.data] : []));
    expect(Buffer.concat(chunks).equals(readFileSync(wav).subarray(44))).toBe(true);
  });

  it('passes --language, --task and --barge-in', async () => {
    const r = await run(['--url', gw.url, '--audio', wav, '--speed', '2', '--language', 'fr', '--task', 'translate', '--barge-in', 'first_words', '--system', 'Be terse.']);
    expect(r.code).toBe(0);
    expect(gw.received[0]).toEqual({ t: 'hello', client: 'vlp-cli/0.1', options: { system_prompt: 'Be terse.', barge_in: 'first_words' } });
    expect(gw.received[1]).toMatchObject({ t: 'audio.start', language: 'fr', task: 'translate' });
  });

  it('rewrites the partial line in place on a terminal', async () => {
    const stdout = new Sink();
    const stderr = new TtySink();
    expect(await runCli(['--url', gw.url, '--audio', wav, '--speed', '2'], { stdout, stderr, env: {} })).toBe(0);
    expect(stderr.text).toContain('\r\x1b[2K… partial: What is');
    expect(stderr.text).toContain('\r\x1b[2Kyou said: What is the capital of France?\n');
    expect(stderr.text).not.toContain('partial: What\n');
  });

  it('--image first, a spoken segment request, --save', async () => {
    gw.voice.utterances = ['SEGMENT'];
    const out = join(dir, 'out.png');
    const r = await run(['--url', gw.url, '--image', png, '--save', out, '--audio', wav, '--speed', '2']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('Found 1 dog.\n');
    expect(r.stderr).toContain('you said: SEGMENT\nbox 0 dog 0.90 [0, 0, 2, 2]\nsaved ');
    expect(gw.received[1]).toMatchObject({ t: 'image.put', id: 'cli-image' });
    expect(gw.received[2]).toMatchObject({ t: 'audio.start' });
    expect(await sharp(out).metadata()).toMatchObject({ width: 4, height: 3, format: 'png' });
  });

  it('--events prints every frame, voice frames included', async () => {
    const r = await run(['--url', gw.url, '--events', '--audio', wav, '--speed', '2']);
    expect(r.code).toBe(0);
    const types = r.stdout.trimEnd().split('\n').map((l) => (JSON.parse(l) as { t: string }).t);
    expect(types.slice(0, 2)).toEqual(['ready', 'vad']);
    expect(types).toContain('asr.partial');
    expect(types.slice(types.indexOf('asr.final') - 1)).toEqual(['vad', 'asr.final', 'turn.started', ...TOKENS.map(() => 'gen.token'), 'gen.done', 'turn.metrics']);
  });

  it('answers each utterance; a superseded answer is cut and the next one follows', async () => {
    gw.voice.utterances = ['SLOW', 'What is the capital of France?'];
    const r = await run(['--url', gw.url, '--audio', wav, '--speed', '2']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${TOKENS.join('')}\n`); // SLOW had sent nothing before it was superseded
    expect(r.stderr).toContain('you said: SLOW\nyou said: What is the capital of France?\nfinish=eos_token');
  });

  it('exits 1 with CLIENT_NO_TRANSCRIPT when no final transcript comes', async () => {
    gw.voice.silent = true;
    const r = await run(['--url', gw.url, '--audio', wav, '--speed', '2', '--transcript-timeout-ms', '200']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^error CLIENT_NO_TRANSCRIPT: no final transcript within 200 ms/);
  });

  it('exits 1 on an error for the voice turn and when the gateway refuses the audio', async () => {
    gw.voice.utterances = ['ERROR'];
    const r = await run(['--url', gw.url, '--audio', wav, '--speed', '2']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('you said: ERROR\nerror UPSTREAM_OVERLOADED: model overloaded\n');
    gw.voice.asrUnavailable = true;
    const refused = await run(['--url', gw.url, '--audio', wav, '--speed', '2']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe('error AUDIO_ASR_UNAVAILABLE: no speech recognizer\n');
  });

  it('exits 1 before connecting when the audio file cannot be read', async () => {
    const r = await run(['--url', gw.url, '--audio', join(dir, 'missing.wav')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error CLIENT_AUDIO_INVALID: cannot read audio file .*missing\.wav: no such file\n$/);
    expect(gw.received).toEqual([]);
  });

  it('--audio - reads raw PCM from stdin with --audio-format', async () => {
    const stdout = new Sink();
    const stderr = new Sink();
    const stdin = Readable.from([new Uint8Array(3_200), new Uint8Array(3_200)]);
    const code = await runCli(['--url', gw.url, '--audio', '-', '--audio-format', 'pcm16:16000', '--speed', '2'], { stdout, stderr, stdin, env: {} });
    expect(code).toBe(0);
    expect(stdout.text).toBe(`${TOKENS.join('')}\n`);
    expect(gw.received.filter((m) => m.t === 'audio.chunk')).toHaveLength(10);
  });

  it('on Ctrl-C during the answer cancels the voice turn and exits 130', async () => {
    gw.voice.utterances = ['SLOW'];
    const ac = new AbortController();
    const stdout = new Sink();
    const stderr = new Sink();
    const done = runCli(['--url', gw.url, '--audio', wav, '--speed', '2'], { stdout, stderr, env: {}, signal: ac.signal });
    await expect.poll(() => stdout.text.length).toBeGreaterThan(0);
    ac.abort();
    expect(await done).toBe(130);
    expect(gw.received).toContainEqual({ t: 'turn.cancel', id: 'v1' });
    expect(stderr.text.endsWith('interrupted\n')).toBe(true);
  });

  it('on Ctrl-C while the audio is still being sent stops at once', async () => {
    const long = join(dir, 'long.wav');
    writeFileSync(long, sineWav(10_000));
    const ac = new AbortController();
    const done = runCli(['--url', gw.url, '--audio', long], { stdout: new Sink(), stderr: new Sink(), env: {}, signal: ac.signal });
    await expect.poll(() => gw.audioChunkTimes.length).toBeGreaterThan(2);
    ac.abort();
    expect(await done).toBe(130);
    expect(gw.received.some((m) => m.t === 'audio.end')).toBe(false);
  });
});

/** A 16 kHz mono PCM16 WAV of a 440 Hz tone. */
function sineWav(ms: number): Buffer {
  const n = (16_000 * ms) / 1000;
  const b = Buffer.alloc(44 + n * 2);
  b.write('RIFF', 0, 'ascii');
  b.writeUInt32LE(36 + n * 2, 4);
  b.write('WAVEfmt ', 8, 'ascii');
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20);
  b.writeUInt16LE(1, 22);
  b.writeUInt32LE(16_000, 24);
  b.writeUInt32LE(32_000, 28);
  b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34);
  b.write('data', 36, 'ascii');
  b.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++) b.writeInt16LE(Math.round(8_000 * Math.sin((2 * Math.PI * 440 * i) / 16_000)), 44 + i * 2);
  return b;
}

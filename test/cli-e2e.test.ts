// End to end: the Node CLI against the real gateway and the simulated fleet — a text question and
// an IDEFICS image question stream their answers to stdout; bad input exits 1 with the code.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TextSink } from './text-sink.ts';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { runCli } from '../clients/node/cli.ts';
import { ASR_KINDS, startStack, type AsrKind, type Stack } from './harness.ts';
import { ensureAudioClips, type ClipFiles } from '../sim/asr/index.ts';

async function cli(stack: Stack, args: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new TextSink();
  const stderr = new TextSink();
  const code = await runCli(['--url', stack.url, ...args], { stdout, stderr, env: {} });
  return { code, out: stdout.text, err: stderr.text };
}

describe('CLI end to end', () => {
  let stack: Stack;
  let photo = '';
  beforeAll(async () => {
    stack = await startStack('ws');
    const dir = mkdtempSync(join(tmpdir(), 'vlp-cli-'));
    photo = join(dir, 'photo.jpg');
    writeFileSync(photo, await sharp({ create: { width: 320, height: 240, channels: 3, background: 'green' } }).jpeg().toBuffer());
    writeFileSync(join(dir, 'notes.txt'), 'not an image');
  });
  afterAll(async () => {
    await stack.close();
  });

  it('streams a text answer and prints the summary', async () => {
    const r = await cli(stack, ['--max-new-tokens', '12', 'What is the capital of France?']);
    expect(r.code).toBe(0);
    expect(r.out.trim().split(/\s+/).length).toBeGreaterThan(3);
    expect(r.err).toMatch(/finish=length tokens=12 ttft_ms=/);
  });

  it('--image streams an IDEFICS answer about the image', async () => {
    const r = await cli(stack, ['--image', photo, '--max-new-tokens', '10', 'What is in this image?']);
    expect(r.code).toBe(0);
    expect(r.out.trim().length).toBeGreaterThan(0);
    expect(r.err).toMatch(/tokens=10/);
  });

  it('--image "segment the dog" prints the summary and the boxes', async () => {
    const r = await cli(stack, ['--image', photo, 'segment the dog']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/dog/);
    expect(r.err).toMatch(/^box 0 dog 0\.\d\d \[\d+, \d+, \d+, \d+\]$/m);
  });

  it('--save writes the image with the masks and boxes drawn as a PNG', async () => {
    const out = photo.replace('photo.jpg', 'segmented.png');
    const r = await cli(stack, ['--image', photo, '--save', out, 'segment the dog']);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/saved .*segmented\.png \(\d+ boxes, \d+ masks\)/);
    const { data, info } = await sharp(out).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([320, 240]);
    // The plain green background was tinted where masks and boxes were drawn.
    let changed = 0;
    for (let k = 0; k < data.length; k += info.channels) if (data[k] !== data[0] || data[k + 2] !== data[2]) changed++;
    expect(changed).toBeGreaterThan(100);
  });

  it('--image with a file that is not an image exits 1 with INPUT_IMAGE_INVALID', async () => {
    const r = await cli(stack, ['--image', photo.replace('photo.jpg', 'notes.txt'), 'What is in this image?']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/INPUT_IMAGE_INVALID/);
  });
});

describe.each(ASR_KINDS.map((k) => [k] as [AsrKind]))('CLI --audio end to end through %s', (asr) => {
  let stack: Stack;
  let clips: ClipFiles;
  beforeAll(async () => {
    clips = await ensureAudioClips();
    stack = await startStack('ws', { asr });
  }, 60_000);
  afterAll(async () => {
    await stack.close();
  });

  it('a 16 kHz WAV: partials, the final transcript and a streamed answer', async () => {
    const r = await cli(stack, ['--audio', clips.wav['hello-how-are-you'], '--speed', '1.8', '--max-new-tokens', '12']);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/partial: .+/);
    expect(r.err).toMatch(/you said: Hello, how are you today\?/);
    expect(r.out.trim().split(/\s+/).length).toBeGreaterThan(3);
    expect(r.err).toMatch(/finish=length tokens=12 ttft_ms=/);
  }, 40_000);

  it('spoken "segment the dog" with --image --save --events: intent, boxes, masks, metrics and the PNG', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vlp-cli-voice-'));
    const photo = join(dir, 'photo.jpg');
    const out = join(dir, 'out.png');
    writeFileSync(photo, await sharp({ create: { width: 320, height: 240, channels: 3, background: 'green' } }).jpeg().toBuffer());
    const r = await cli(stack, ['--audio', clips.wav['segment-dog'], '--image', photo, '--save', out, '--events', '--speed', '1.5']);
    expect(r.code).toBe(0);
    const frames = r.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { t: string; turn?: string; labels?: { label: string }[] });
    const final = frames.find((f) => f.t === 'asr.final');
    expect(final).toBeDefined();
    const ofTurn = frames.filter((f) => f.turn === final?.turn);
    expect(ofTurn.find((f) => f.t === 'intent.update')?.labels?.[0]?.label).toBe('segment');
    expect(ofTurn.some((f) => f.t === 'detect.boxes')).toBe(true);
    expect(ofTurn.some((f) => f.t === 'mask.frame')).toBe(true);
    expect(ofTurn.some((f) => f.t === 'turn.metrics')).toBe(true);
    const png = await sharp(out).metadata();
    expect(png).toMatchObject({ format: 'png', width: 320, height: 240 });
  }, 40_000);

  it('a 22050 Hz WAV is decoded with ffmpeg (prism-media) and answered', async () => {
    const r = await cli(stack, ['--audio', clips.wav22050['what-in-image'] ?? '', '--speed', '1.8', '--max-new-tokens', '8']);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/you said: What is in this image\?/);
    expect(r.out.trim().length).toBeGreaterThan(0);
  }, 40_000);
});

// Clip matching survives what happens to audio on its way to an ASR: a 22050 Hz copy resampled to
// 16 kHz, an Opus round trip, extra leading silence, other chunking; silence, noise and the other
// clips match nothing. Also: the committed manifest agrees with the freshly generated files.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clips, clipSamples, ffmpeg16k, ffmpegMulti, whiteNoise, withLeadingSilence } from './audio.testkit.ts';
import { loadClipBook } from './clip-book.ts';
import { CLIP_DEFS, CLIPS_22050, type ClipName } from './clip-defs.ts';
import { measureClip } from './clip-gen.ts';
import { distanceAt, EnergyTrack, findOnset, subEnergies, windowDbs } from './fingerprint.ts';

const NAMES = CLIP_DEFS.map((d) => d.name);
const book = loadClipBook();
let tmp: string;
const variants = new Map<string, Int16Array>();

beforeAll(async () => {
  const files = await clips();
  tmp = await mkdtemp(join(tmpdir(), 'vlp-asr-fp-'));
  await Promise.all(
    NAMES.map(async (name) => {
      const src = files.wav[name];
      variants.set(`${name}:orig`, await clipSamples(name));
      // One ffmpeg run makes the three copies: 22050 Hz WAV (what a gateway resampler gets from a
      // 22.05 kHz upload), 48 kHz Opus at 24 kb/s (what a browser sends), 12 kb/s VoIP Opus (harshest).
      const [p22, opus, lo] = [join(tmp, `${name}-22050.wav`), join(tmp, `${name}.opus`), join(tmp, `${name}-lo.opus`)];
      await ffmpegMulti(src, [
        [p22, ['-ar', '22050']],
        [opus, ['-ar', '48000', '-c:a', 'libopus', '-b:a', '24k']],
        [lo, ['-ar', '48000', '-c:a', 'libopus', '-b:a', '12k', '-application', 'voip']],
      ]);
      const [a, b, c] = await Promise.all([ffmpeg16k(p22), ffmpeg16k(opus), ffmpeg16k(lo)]);
      variants.set(`${name}:22050`, a);
      variants.set(`${name}:opus`, b);
      variants.set(`${name}:opus12k`, c);
    }),
  );
}, 30_000);

afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('ClipBook.match', () => {
  it.each(NAMES)('%s matches itself, its 22050→16k copy, an Opus round trip and with 1 s more leading silence', (name) => {
    const orig = variants.get(`${name}:orig`) as Int16Array;
    for (const [label, samples] of [
      ['original', orig],
      ['22050 → 16k', variants.get(`${name}:22050`) as Int16Array],
      ['opus 24k', variants.get(`${name}:opus`) as Int16Array],
      ['opus 12k voip', variants.get(`${name}:opus12k`) as Int16Array],
      ['+1 s silence', withLeadingSilence(orig, 1000)],
    ] as const) {
      const m = book.match(samples);
      expect(m?.clip.name, `${name} (${label})`).toBe(name);
      expect(m?.distance).toBeLessThan(book.threshold);
    }
    const shifted = book.match(withLeadingSilence(orig, 1000));
    const plain = book.match(orig);
    expect((shifted?.speechStartSample ?? 0) - (plain?.speechStartSample ?? 0)).toBe(16_000);
  });

  it('silence and white noise match nothing', () => {
    expect(book.match(new Int16Array(48_000))).toBeUndefined();
    for (const rms of [0.003, 0.05, 0.3]) expect(book.match(whiteNoise(2, rms))).toBeUndefined();
    expect(book.matchPrefix(whiteNoise(1, 0.05))).toBeUndefined();
  });

  it('different clips do not cross-match (every variant against every other fingerprint)', () => {
    for (const [key, samples] of variants) {
      const name = key.split(':')[0] as ClipName;
      const win = windowDbs(subEnergies(samples));
      const onset = findOnset(win);
      for (const clip of book.clips) {
        if (clip.name === name) continue;
        const { distance } = distanceAt(clip.frames, win, onset, clip.frames.length);
        expect(distance, `${key} vs ${clip.name}`).toBeGreaterThan(book.threshold + 1);
      }
    }
  });

  it('an utterance in progress matches once 600 ms of speech are in (prefix match)', () => {
    for (const name of NAMES) {
      const s = variants.get(`${name}:opus`) as Int16Array;
      const onsetSample = book.match(s)?.speechStartSample ?? 0;
      expect(book.matchPrefix(s.subarray(0, onsetSample + 400 * 16)), name).toBeUndefined();
      expect(book.matchPrefix(s.subarray(0, onsetSample + 700 * 16))?.clip.name, name).toBe(name);
    }
  });
});

describe('EnergyTrack', () => {
  it('gives the same sub-frame energies whatever the chunking', async () => {
    const s = await clipSamples('hello-how-are-you');
    const whole = subEnergies(s);
    const t = new EnergyTrack(4);
    let i = 0;
    let k = 1;
    while (i < s.length) {
      const n = (k * 977) % 1500 + 1; // irregular chunk sizes, 1..1500 samples
      t.pushInt16(s.subarray(i, i + n));
      i += n;
      k++;
    }
    expect(t.slice(0, t.length)).toEqual(whole);
    t.trim(100);
    expect(t.first).toBe(100);
    expect(t.at(150)).toBe(whole[150]);
    expect(t.at(50)).toBe(0);
  });
});

describe('generated clips and the committed manifest', () => {
  it('every clip file measures as the manifest says (regenerate with `npx tsx scripts/gen-audio-clips.ts` if not)', async () => {
    const files = await clips();
    for (const def of CLIP_DEFS) {
      const measured = measureClip(def, await readFile(files.wav[def.name]));
      const clip = book.get(def.name);
      expect(clip?.text).toBe(def.text);
      expect(Math.abs(measured.speechMs - (clip?.speechMs ?? 0)), def.name).toBeLessThanOrEqual(20);
      const win = Float32Array.from(measured.fingerprint.frames.flatMap((v) => [v, v, v, v]));
      expect(distanceAt(clip?.frames ?? [], win, 0, measured.fingerprint.frames.length, 0).distance, def.name).toBeLessThan(0.5);
    }
    for (const name of CLIPS_22050) expect(files.wav22050[name]).toMatch(/-22050\.wav$/);
  });
});

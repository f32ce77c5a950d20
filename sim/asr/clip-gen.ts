// Test-clip generation with espeak-ng and ffmpeg (both must be on PATH): espeak-ng → WAV, then
// ffmpeg trims espeak's own silence, resamples to 16 kHz mono s16le and pads 300 ms of silence
// before and 800 ms after, so a VAD sees a clean start and end. Files go to test/fixtures/audio/
// (gitignored, regenerated on demand); the manifest sim/asr/clips.json is committed.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { CLIP_DEFS, CLIPS_22050, LEAD_SILENCE_MS, TAIL_SILENCE_MS, type ClipDef, type ClipName } from './clip-defs.ts';
import { fingerprintRegion, speechRegions, SUBS_PER_SECOND, subEnergies, windowDbs } from './fingerprint.ts';
import type { ClipManifest, ClipManifestEntry } from './types.ts';
import { parseWav, wavTo16kMono } from './wav.ts';

/** Where the generated WAV files live. */
export const AUDIO_DIR = fileURLToPath(new URL('../../test/fixtures/audio/', import.meta.url));
/** The committed manifest. */
export const MANIFEST_PATH = fileURLToPath(new URL('./clips.json', import.meta.url));

export interface ClipFiles {
  dir: string;
  /** 16 kHz mono s16le WAV of each clip. */
  wav: Record<ClipName, string>;
  /** 22050 Hz copies (clips listed in CLIPS_22050). */
  wav22050: Partial<Record<ClipName, string>>;
}

export function clipFiles(dir = AUDIO_DIR): ClipFiles {
  const wav = {} as Record<ClipName, string>;
  for (const d of CLIP_DEFS) wav[d.name] = `${dir}${d.name}.wav`;
  const wav22050: Partial<Record<ClipName, string>> = {};
  for (const name of CLIPS_22050) wav22050[name] = `${dir}${name}-22050.wav`;
  return { dir, wav, wav22050 };
}

function run(cmd: string, args: string[], stdin?: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    child.once('error', (e) => reject(new Error(`${cmd} could not start (${e.message}); install it (Debian: apt-get install espeak-ng ffmpeg)`)));
    child.once('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${Buffer.concat(err).toString().slice(-500)}`));
    });
    if (stdin && child.stdin) stdin.pipe(child.stdin);
  });
}

/** espeak-ng → ffmpeg (trim, resample, pad) → WAV bytes at `rate`. */
async function synthesize(def: ClipDef, rate: number): Promise<Buffer> {
  const speech = await run('espeak-ng', ['-v', def.voice, '--stdout', def.spoken]);
  const trim = 'silenceremove=start_periods=1:start_threshold=-60dB';
  const filter = `${trim},areverse,${trim},areverse,aresample=${rate},adelay=${LEAD_SILENCE_MS}:all=1,apad=pad_dur=${TAIL_SILENCE_MS / 1000}`;
  return run(
    'ffmpeg',
    ['-hide_banner', '-loglevel', 'error', '-i', 'pipe:0', '-af', filter, '-ac', '1', '-ar', String(rate), '-c:a', 'pcm_s16le', '-fflags', '+bitexact', '-map_metadata', '-1', '-f', 'wav', 'pipe:1'],
    Readable.from([speech]),
  );
}

/** Write atomically (temp file + rename), so parallel test workers never read half a file. */
async function writeAtomic(path: string, data: Buffer): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, data);
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).size > 44;
  } catch {
    return false;
  }
}

/** Generate the clip files that are missing (all of them with `force`), in parallel. */
export async function ensureAudioClips(opts: { force?: boolean; dir?: string } = {}): Promise<ClipFiles> {
  const files = clipFiles(opts.dir ?? AUDIO_DIR);
  await mkdir(files.dir, { recursive: true });
  const jobs: Promise<void>[] = [];
  for (const def of CLIP_DEFS) {
    const p16 = files.wav[def.name];
    jobs.push((async () => {
      if (opts.force || !(await exists(p16))) await writeAtomic(p16, await synthesize(def, 16_000));
    })());
    const p22 = files.wav22050[def.name];
    if (p22 !== undefined) {
      jobs.push((async () => {
        if (opts.force || !(await exists(p22))) await writeAtomic(p22, await synthesize(def, 22_050));
      })());
    }
  }
  await Promise.all(jobs);
  return files;
}

/** Manifest entry of one clip, measured from its 16 kHz file. */
export function measureClip(def: ClipDef, wavBytes: Uint8Array): ClipManifestEntry {
  const samples = wavTo16kMono(parseWav(wavBytes));
  const win = windowDbs(subEnergies(samples));
  // The whole clip is one utterance: bridge any pause inside it.
  const regions = speechRegions(win, Number.MAX_SAFE_INTEGER);
  const region = regions[0];
  if (region === undefined) throw new Error(`clip ${def.name}: no speech found`);
  const entry: ClipManifestEntry = {
    text: def.text,
    language: def.language,
    speechMs: Math.round(((region.end - region.start) * 1000) / SUBS_PER_SECOND),
    leadMs: Math.round((region.start * 1000) / SUBS_PER_SECOND),
    spoken: def.spoken,
    voice: def.voice,
    fingerprint: fingerprintRegion(win, region),
  };
  if (def.translation !== undefined) entry.translation = def.translation;
  return entry;
}

/** Regenerate every file and rewrite the manifest. Returns the manifest. */
export async function regenerateClipsAndManifest(): Promise<ClipManifest> {
  const files = await ensureAudioClips({ force: true });
  const clips: Record<string, ClipManifestEntry> = {};
  for (const def of CLIP_DEFS) clips[def.name] = measureClip(def, await readFile(files.wav[def.name]));
  const manifest: ClipManifest = {
    generatedBy: 'npx tsx scripts/gen-audio-clips.ts',
    note: 'SIMULATED ASR test clips: espeak-ng speech, 16 kHz mono; fingerprint = 20 ms log-energy envelope (dBFS) from the speech onset',
    clips,
  };
  await writeFile(MANIFEST_PATH, formatManifest(manifest));
  return manifest;
}

/** JSON with one clip per block and each fingerprint on one line (readable diffs). */
export function formatManifest(m: ClipManifest): string {
  const lines = ['{', `  "generatedBy": ${JSON.stringify(m.generatedBy)},`, `  "note": ${JSON.stringify(m.note)},`, '  "clips": {'];
  const names = Object.keys(m.clips);
  names.forEach((name, i) => {
    const c = m.clips[name] as ClipManifestEntry;
    const { fingerprint, ...rest } = c;
    const fields = Object.entries(rest).map(([k, v]) => `      ${JSON.stringify(k)}: ${JSON.stringify(v)}`);
    fields.push(`      "fingerprint": {"frameMs": ${fingerprint.frameMs}, "frames": ${JSON.stringify(fingerprint.frames)}}`);
    lines.push(`    ${JSON.stringify(name)}: {`, fields.join(',\n'), `    }${i < names.length - 1 ? ',' : ''}`);
  });
  lines.push('  }', '}', '');
  return lines.join('\n');
}

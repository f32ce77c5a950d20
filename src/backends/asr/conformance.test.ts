// One conformance suite for the three ASR adapters, each pointed at its simulator (sim/asr: WhisperLive
// and whisper-asr-webservice; sim/sagemaker: a JumpStart Whisper endpoint): a registered clip streamed
// in real time in 20 ms chunks with the VAD's speechStart/speechEnd at the right samples gives
// progressive partials (revisions of the utterance text) and exactly one final equal to the
// registered transcript; the translate task on the Chinese clip gives its registered translation;
// close() closes the upstream within 50 ms (as the simulator sees it); an upstream failure is an
// `error` event with the mapped code.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorCode } from '../../../protocol/errors.ts';
import {
  ensureAudioClips, MANIFEST_PATH, startWhisperAsrSim, startWhisperLiveSim, WHISPER_ASR_ADMIN_PATH,
  type ClipFiles, type ClipManifest, type ClipName,
} from '../../../sim/asr/index.ts';
import { SAGEMAKER_ADMIN_PATH, startSageMakerSim } from '../../../sim/sagemaker/index.ts';
import { parseWav } from '../../audio/wav.ts';
import type { AsrBackend, AsrEvent, AsrOptions, AsrStream } from './port.ts';
import { createAsrBackend } from './index.ts';

const RATE = 16_000;
const CHUNK = 320; // 20 ms
/** Audio goes out this many times faster than real time (the simulators' clocks are the audio's,
 *  except their wall-clock partial ticks and final decode delay, which this keeps realistic). */
const SPEED = 2;
/** The gateway VAD reports speech_end after this much trailing silence (config default). */
const VAD_END_SILENCE_MS = 600;
/** Silence streamed after the clip while waiting for the final (the microphone stays open). */
const MAX_TAIL_MS = 4_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const manifest = JSON.parse(readFileSync(MANIFEST_PATH, 'utf8')) as ClipManifest;

interface Harness {
  backend: AsrBackend;
  /** performance.now() at which the simulator sees the next upstream connection/request closed
   *  (armed before the close, resolved by the simulator's event). */
  upstreamClosed(): Promise<number>;
  /** Resolves once the upstream has work for the stream in progress (socket ready / request in). */
  upstreamBusy(): Promise<void>;
  /** Makes the next streams' upstream fail; returns the code the adapter must report. */
  injectFailure(): Promise<ErrorCode>;
  clearFailures(): Promise<void>;
  close(): Promise<void>;
}

async function post(url: string, body: unknown): Promise<void> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`admin ${url}: HTTP ${res.status}`);
}

const TARGETS: { name: string; start(): Promise<Harness> }[] = [
  {
    name: 'whisperlive',
    async start() {
      const sim = await startWhisperLiveSim({ jitter: 0, modelLoadMs: 100 });
      const backend = createAsrBackend({ kind: 'whisperlive', url: sim.url });
      return {
        backend,
        upstreamClosed: () => new Promise((resolve) => sim.events.once('closed', (e) => resolve(e.atMs))),
        upstreamBusy: () => new Promise((resolve) => sim.events.once('ready', () => resolve())),
        async injectFailure() {
          sim.queueFault({ kind: 'drop', afterSegments: 1 }, 1);
          return 'UPSTREAM_RESET';
        },
        async clearFailures() {
          sim.clearFaults();
        },
        async close() {
          await backend.close();
          await sim.close();
        },
      };
    },
  },
  {
    name: 'whisper-asr',
    async start() {
      const sim = await startWhisperAsrSim({ jitter: 0 });
      const backend = createAsrBackend({ kind: 'whisper-asr', url: sim.url });
      return {
        backend,
        upstreamClosed: () => new Promise((resolve) => sim.events.once('request-closed', (e) => resolve(e.atMs))),
        upstreamBusy: () => new Promise((resolve) => sim.events.once('request', () => resolve())),
        async injectFailure() {
          await post(`${sim.url}${WHISPER_ASR_ADMIN_PATH}`, { kind: 'error_500', count: 100 });
          return 'UPSTREAM_GENERATION_FAILED';
        },
        async clearFailures() {
          sim.clearFaults();
        },
        async close() {
          await backend.close();
          await sim.close();
        },
      };
    },
  },
  {
    name: 'sagemaker',
    async start() {
      const sim = await startSageMakerSim({ endpoints: { 'whisper-large-v3-sm': { whisper: true, latency: { jitter: 0 } } } });
      const backend = createAsrBackend({
        kind: 'sagemaker', endpointName: 'whisper-large-v3-sm', region: 'us-east-1', endpointUrl: sim.url,
        credentials: { accessKeyId: 'AKIDSIMULATED', secretAccessKey: 'simulated' },
      });
      return {
        backend,
        upstreamClosed: () => new Promise((resolve) => sim.events.once('request-closed', (e) => resolve(e.atMs))),
        upstreamBusy: () => new Promise((resolve) => sim.events.once('request', () => resolve())),
        async injectFailure() {
          await post(`${sim.url}${SAGEMAKER_ADMIN_PATH}`, { kind: 'service_unavailable', count: 100 });
          return 'UPSTREAM_OVERLOADED';
        },
        async clearFailures() {
          await fetch(`${sim.url}${SAGEMAKER_ADMIN_PATH}`, { method: 'DELETE' });
        },
        async close() {
          await backend.close();
          await sim.close();
        },
      };
    },
  },
];

let files: ClipFiles;
const pcmCache = new Map<ClipName, Int16Array>();

/** A registered clip as 16 kHz PCM16. */
function clipPcm(name: ClipName): Int16Array {
  let pcm = pcmCache.get(name);
  if (pcm === undefined) {
    const wav = parseWav(readFileSync(files.wav[name]));
    if (wav.sampleRate !== RATE || wav.channels !== 1 || wav.bitsPerSample !== 16 || wav.format !== 'pcm') throw new Error(`${name}: not 16 kHz mono PCM16`);
    const bytes = new Uint8Array(wav.data); // a copy (Buffer#slice would share the file's memory)
    pcm = new Int16Array(bytes.buffer, 0, bytes.length >> 1);
    pcmCache.set(name, pcm);
  }
  return pcm;
}

interface Run {
  events: AsrEvent[];
  /** performance.now() of speechEnd and of the final. */
  speechEndAt: number;
  finalAt: number | undefined;
}

/**
 * Streams `name` in 20 ms chunks at SPEED × real-time pace, as the session would: speechStart when the
 * audio reaches the clip's speech onset (the VAD's start), speechEnd once VAD_END_SILENCE_MS of
 * silence followed its end (at the sample where speech ended), then silence until the final.
 */
async function streamClip(backend: AsrBackend, name: ClipName, opts: AsrOptions): Promise<Run> {
  const m = manifest.clips[name];
  if (m === undefined) throw new Error(`clip ${name} not in the manifest`);
  const pcm = clipPcm(name);
  const startSample = Math.round((m.leadMs * RATE) / 1000);
  const endSample = Math.round(((m.leadMs + m.speechMs) * RATE) / 1000);
  const endDecidedAt = endSample + (VAD_END_SILENCE_MS * RATE) / 1000;
  const events: AsrEvent[] = [];
  const run: Run = { events, speechEndAt: 0, finalAt: undefined };
  const s = backend.open(opts, {
    onEvent: (ev) => {
      events.push(ev);
      if (ev.kind !== 'partial' && run.finalAt === undefined) run.finalAt = performance.now();
    },
  });
  let drained = true;
  s.onDrain(() => {
    drained = true;
  });
  const t0 = performance.now();
  let pos = 0;
  let started = false;
  let ended = false;
  const silence = new Int16Array(CHUNK);
  const limit = Math.max(pcm.length, endDecidedAt) + (MAX_TAIL_MS * RATE) / 1000;
  try {
    while (pos < limit && run.finalAt === undefined) {
      const chunk = pos < pcm.length ? pcm.subarray(pos, Math.min(pcm.length, pos + CHUNK)) : silence;
      if (!drained) throw new Error('the adapter refused audio at the streaming pace');
      drained = s.write(chunk);
      pos += chunk.length;
      if (!started && pos >= startSample) {
        started = true;
        s.speechStart(startSample);
      }
      if (!ended && pos >= endDecidedAt) {
        ended = true;
        run.speechEndAt = performance.now();
        s.speechEnd(endSample);
      }
      const due = t0 + (pos / RATE / SPEED) * 1000;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
    }
    // A few more chunks' time: nothing may follow the final.
    await sleep(100);
  } finally {
    s.close();
  }
  return run;
}

const words = (t: string): string[] => t.toLowerCase().replace(/[\p{P}]/gu, ' ').split(/\s+/).filter((w) => w !== '');
/** Character units for CJK, words otherwise. */
const units = (t: string): string[] => (/\p{Script=Han}/u.test(t) ? [...t.replace(/[\s\p{P}]/gu, '')] : words(t));

function expectProgressiveRevisions(run: Run, finalText: string): void {
  const partials = run.events.filter((e): e is Extract<AsrEvent, { kind: 'partial' }> => e.kind === 'partial');
  expect(partials.length).toBeGreaterThanOrEqual(1);
  const target = units(finalText);
  let prevStable: string[] = [];
  let prevText = '';
  for (const p of partials) {
    const text = p.stable + p.unstable;
    expect(text).not.toBe(prevText); // only emitted when the text changed
    prevText = text;
    const u = units(text);
    // Each partial is a revision of the utterance text: here (registered clips) a prefix of it.
    expect(target.slice(0, u.length)).toEqual(u);
    // Stable words never change.
    const st = units(p.stable);
    expect(st.slice(0, prevStable.length)).toEqual(prevStable);
    prevStable = st;
    if (p.stable !== '' && p.unstable !== '' && !/\p{Script=Han}/u.test(text)) expect(p.unstable.startsWith(' ')).toBe(true);
  }
}

describe.each(TARGETS)('ASR conformance: $name', (target) => {
  let h: Harness;
  beforeAll(async () => {
    files = await ensureAudioClips();
    h = await target.start();
  }, 60_000);
  afterAll(async () => {
    await h?.close();
  });

  it('probes the upstream', async () => {
    expect(await h.backend.probe(1000)).toBe(true);
  });

  it('streams a registered clip: progressive partials, then exactly one final equal to the transcript', async () => {
    const clip: ClipName = 'describe-long'; // 7.7 s of speech in two sentences
    const expected = manifest.clips[clip]?.text ?? '';
    const run = await streamClip(h.backend, clip, { task: 'transcribe' });
    const finals = run.events.filter((e) => e.kind === 'final');
    expect(run.events.filter((e) => e.kind === 'error')).toEqual([]);
    expect(finals).toHaveLength(1);
    expect(run.events.at(-1)).toBe(finals[0]);
    const final = finals[0] as Extract<AsrEvent, { kind: 'final' }>;
    expect(final.text).toBe(expected);
    expectProgressiveRevisions(run, expected);
    expect(run.events.filter((e) => e.kind === 'partial').length).toBeGreaterThanOrEqual(3);
    // The final comes well within the session's bound (finalizeTimeoutMs + requestTimeoutMs).
    expect((run.finalAt ?? Infinity) - run.speechEndAt).toBeLessThan(3_000);
  }, 30_000);

  it('transcribes the Chinese clip in Chinese (no spaces between characters)', async () => {
    const clip: ClipName = 'zh-what-picture';
    const expected = manifest.clips[clip]?.text ?? '';
    const run = await streamClip(h.backend, clip, { task: 'transcribe' });
    const finals = run.events.filter((e) => e.kind === 'final');
    expect(finals).toHaveLength(1);
    expect(finals[0]).toMatchObject({ kind: 'final', text: expected });
    expectProgressiveRevisions(run, expected);
  }, 30_000);

  it('translates the Chinese clip (task translate) to its registered English translation', async () => {
    const clip: ClipName = 'zh-what-picture';
    const expected = manifest.clips[clip]?.translation ?? '';
    expect(expected).not.toBe('');
    expect(h.backend.capabilities.translate).toBe(true);
    const run = await streamClip(h.backend, clip, { task: 'translate' });
    const finals = run.events.filter((e) => e.kind === 'final');
    expect(finals).toHaveLength(1);
    expect(finals[0]).toMatchObject({ kind: 'final', text: expected });
    expectProgressiveRevisions(run, expected);
  }, 30_000);

  it('close() closes the upstream within 50 ms and reports nothing afterwards', async () => {
    const events: AsrEvent[] = [];
    const s: AsrStream = h.backend.open({ task: 'transcribe' }, { onEvent: (ev) => events.push(ev) });
    const busy = h.upstreamBusy();
    const pcm = clipPcm('what-in-image');
    s.speechStart(0);
    for (let pos = 0; pos < pcm.length; pos += CHUNK) s.write(pcm.subarray(pos, pos + CHUNK));
    s.speechEnd(pcm.length); // batch adapters: the final request goes out now
    await busy;
    const closed = h.upstreamClosed();
    const t0 = performance.now();
    s.close();
    const at = await closed;
    expect(at - t0).toBeLessThan(50);
    const n = events.length;
    await sleep(100);
    expect(events.slice(n)).toEqual([]);
    expect(events.filter((e) => e.kind === 'final' || e.kind === 'error')).toEqual([]);
  });

  it('an upstream failure is an error event with the mapped code, and nothing follows it', async () => {
    const code = await h.injectFailure();
    try {
      const run = await streamClip(h.backend, 'what-in-image', { task: 'transcribe' });
      const errors = run.events.filter((e) => e.kind === 'error');
      expect(errors).toHaveLength(1);
      expect(errors[0]?.kind === 'error' && errors[0].error.code).toBe(code);
      expect(run.events.at(-1)).toBe(errors[0]);
    } finally {
      await h.clearFailures();
    }
  }, 30_000);
});

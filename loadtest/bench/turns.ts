// bench:turns — the seed's pipeline, live: a scripted corpus of spoken and typed turns (with an
// image) through the gateway (a child process) to the simulated fleet with realistic backend
// latencies, speculation off and on alternating in the same run. Reports end of speech → first
// mask and → first token per mode, the speculative calls committed and discarded, and the intent
// classifier's cost per partial transcript and accuracy on the corpus.
//
//   npx tsx loadtest/bench/turns.ts [--reps 6] [--parallel 3] [--gateway dist|tsx] [--out loadtest/reports]
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import WebSocket from 'ws';
import { createClientCodec } from '../../protocol/codec.ts';
import type { ClientMessage, ServerMessage, TurnMetricsMsg } from '../../protocol/messages.ts';
import { ensureAudioClips, startWhisperLiveSim, type ClipFiles } from '../../sim/asr/index.ts';
import { startGroundedSamSim } from '../../sim/grounded-sam/index.ts';
import { startTgiSim } from '../../sim/tgi/index.ts';
import { parseWav } from '../../src/audio/wav.ts';
import { RulesIntentClassifier } from '../../src/understanding/rules.ts';
import { startGatewayProc } from './gateway-proc.ts';
import { parseGatewayBuild, prepareGateway } from './gateway-build.ts';
import { r2, summarize } from './stats.ts';
import { TURNS_CORPUS, type CorpusTurn } from './turns-corpus.ts';

const { values: args } = parseArgs({
  options: {
    reps: { type: 'string', default: '6' },
    parallel: { type: 'string', default: '3' },
    /** How the gateway runs: dist (the production build, compiled for this run) | tsx (the sources). */
    gateway: { type: 'string', default: 'dist' },
    out: { type: 'string', default: 'loadtest/reports' },
    'detect-ms': { type: 'string', default: '300' },
    'mask-ms': { type: 'string', default: '120' },
  },
});
const REPS = Number(args.reps);
const PARALLEL = Number(args.parallel);
/** Realistic GPU latencies (A10G-class, 24 GB): Grounding DINO SwinT-OGC detection, then SAM
 *  ViT-H mask decoding per instance; TGI Llama-2-7B / IDEFICS-9B first token and inter-token. */
const LAT = { detectMs: Number(args['detect-ms']), perMaskMs: Number(args['mask-ms']), llmTtft: 180, vlmTtft: 350, itl: 28 };

type Mode = 'off' | 'on';

interface TurnResult {
  mode: Mode;
  turn: CorpusTurn;
  metrics: TurnMetricsMsg | undefined;
  intent: string | undefined;
  error?: string;
}

class Client {
  readonly frames: ServerMessage[] = [];
  private readonly codec = createClientCodec('vlp.v1.msgpack');
  private wake: (() => void) | undefined;
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (d: Buffer) => {
      const r = this.codec.decode(new Uint8Array(d));
      if (r.ok) this.frames.push(r.msg);
      this.wake?.();
    });
  }
  static async open(url: string, options: Record<string, unknown>): Promise<Client> {
    const ws = new WebSocket(url, ['vlp.v1.msgpack'], { perMessageDeflate: false });
    await new Promise<void>((res, rej) => {
      ws.once('open', () => res());
      ws.once('error', rej);
    });
    const c = new Client(ws);
    c.send({ t: 'hello', client: 'bench-turns', options });
    await c.waitFor((m) => m.t === 'ready', 5000);
    return c;
  }
  send(m: ClientMessage): void {
    this.ws.send(this.codec.encode(m));
  }
  async waitFor(pred: (m: ServerMessage) => boolean, timeoutMs: number, from = 0): Promise<ServerMessage> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.frames.slice(from).find(pred);
      if (hit) return hit;
      const left = end - Date.now();
      if (left <= 0) throw new Error('timeout');
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, Math.min(left, 50));
      });
    }
  }
}

async function speak(c: Client, pcm: Uint8Array): Promise<void> {
  const all = new Uint8Array(pcm.length + 300 * 32);
  all.set(pcm);
  const t0 = performance.now();
  for (let i = 0, k = 0; i < all.length; i += 640, k++) {
    const wait = t0 + k * 20 - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    c.send({ t: 'audio.chunk', data: all.subarray(i, i + 640) });
  }
}

async function runTurn(url: string, mode: Mode, turn: CorpusTurn, clips: ClipFiles, photo: Uint8Array): Promise<TurnResult> {
  const c = await Client.open(url, { speculate: mode === 'on', params: { max_new_tokens: 24 } });
  try {
    c.send({ t: 'image.put', id: 'photo', data: photo });
    await new Promise((r) => setTimeout(r, 50));
    let turnId: string;
    if (turn.kind === 'spoken') {
      c.send({ t: 'audio.start', format: { encoding: 'pcm16', sample_rate: 16000, channels: 1 } });
      await speak(c, parseWav(new Uint8Array(readFileSync(clips.wav[turn.clip]))).data);
      const final = await c.waitFor((m) => m.t === 'asr.final', 15_000);
      turnId = final.t === 'asr.final' ? final.turn : '';
    } else {
      turnId = 'typed';
      c.send({ t: 'turn.start', id: turnId, text: turn.text, image: 'photo' });
    }
    const metrics = (await c.waitFor((m) => m.t === 'turn.metrics' && m.turn === turnId, 20_000)) as TurnMetricsMsg;
    const intent = c.frames.find((f) => f.t === 'intent.update' && f.turn === turnId);
    const started = c.frames.find((f) => f.t === 'turn.started' && f.turn === turnId);
    const label = intent?.t === 'intent.update' ? intent.labels[0]?.label : started?.t === 'turn.started' ? started.kind : undefined;
    if (turn.kind === 'spoken') c.send({ t: 'audio.end' });
    return { mode, turn, metrics, intent: label };
  } catch (err) {
    return { mode, turn, metrics: undefined, intent: undefined, error: err instanceof Error ? err.message : String(err) };
  } finally {
    c.ws.close();
  }
}

/** Runs `jobs` with at most `n` at a time, in order of start. */
async function pool<T>(jobs: (() => Promise<T>)[], n: number): Promise<T[]> {
  const out: T[] = new Array(jobs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < jobs.length) {
        const i = next++;
        out[i] = await (jobs[i] as () => Promise<T>)();
      }
    }),
  );
  return out;
}

function median(xs: number[]): number {
  return xs.length === 0 ? Number.NaN : summarize(xs).p50;
}

function classifierCost(): { perPartialUs: number; partials: number; accuracy: number; n: number } {
  // No result cache: every partial is classified from scratch (the cache would make repeats free).
  const rules = new RulesIntentClassifier({ cacheSize: 0 });
  const texts = TURNS_CORPUS.map((t) => (t.kind === 'typed' ? t.text : spokenText(t.clip)));
  // Word-by-word prefixes, as partial transcripts arrive.
  const partials = texts.flatMap((t) => t.split(' ').map((_, i, w) => w.slice(0, i + 1).join(' ')));
  for (const p of partials) rules.classify(p, { hasImage: true }); // warm up
  const t0 = performance.now();
  const rounds = 50;
  for (let r = 0; r < rounds; r++) for (const p of partials) rules.classify(p, { hasImage: true });
  const perPartialUs = ((performance.now() - t0) * 1000) / (rounds * partials.length);
  let ok = 0;
  for (const [i, t] of TURNS_CORPUS.entries()) {
    const r = rules.classify(texts[i] as string, { hasImage: true });
    if (!('then' in r) && r.labels[0]?.label === t.expect) ok++;
  }
  return { perPartialUs: r2(perPartialUs), partials: partials.length, accuracy: r2(ok / TURNS_CORPUS.length), n: TURNS_CORPUS.length };
}

function spokenText(clip: string): string {
  const manifest = JSON.parse(readFileSync(new URL('../../sim/asr/clips.json', import.meta.url), 'utf8')) as { clips: Record<string, { text: string }> | { name: string; text: string }[] };
  const list = Array.isArray(manifest.clips) ? manifest.clips : Object.entries(manifest.clips).map(([name, v]) => ({ name, text: v.text }));
  return list.find((c) => c.name === clip)?.text ?? clip;
}

async function main(): Promise<void> {
  const clips = await ensureAudioClips();
  const photo = new Uint8Array(await sharp({ create: { width: 640, height: 480, channels: 3, background: 'green' } }).jpeg().toBuffer());
  const llm = await startTgiSim({ kind: 'llm', ttftMs: LAT.llmTtft, itlMs: LAT.itl, jitter: 0.2 });
  const vlm = await startTgiSim({ kind: 'vlm', ttftMs: LAT.vlmTtft, itlMs: LAT.itl, jitter: 0.2 });
  const gsam = await startGroundedSamSim({ detectMs: LAT.detectMs, perMaskMs: LAT.perMaskMs, jitter: 0.2 });
  const wl = await startWhisperLiveSim({});
  let segmentRequests = 0;
  gsam.events.on('request', () => void segmentRequests++);
  const dir = mkdtempSync(join(tmpdir(), 'vlp-bench-turns-'));
  const configPath = join(dir, 'config.json');
  writeFileSync(
    configPath,
    JSON.stringify({
      models: [
        { id: 'llama-2-7b-chat', kind: 'llm', backend: 'tgi', urls: [llm.url], template: 'llama2-chat', params: { max_new_tokens: 512 } },
        { id: 'idefics-9b-instruct', kind: 'vlm', backend: 'tgi', urls: [vlm.url], template: 'idefics', params: { max_new_tokens: 512 } },
      ],
      segmenter: { url: gsam.url },
      asr: { backend: 'whisperlive', url: wl.url },
    }),
  );
  const gw = await startGatewayProc({ entry: prepareGateway(parseGatewayBuild(args.gateway)), transport: 'ws', tgiUrl: llm.url, env: { VLP_CONFIG: configPath } });
  console.log(`bench:turns  corpus ${TURNS_CORPUS.length} turns × ${REPS} reps × 2 modes, ${PARALLEL} sessions at a time`);
  console.log(`latencies: Grounded-SAM detect ${LAT.detectMs} ms + ${LAT.perMaskMs} ms/mask; TGI ttft llm ${LAT.llmTtft} / vlm ${LAT.vlmTtft} ms, itl ${LAT.itl} ms; WhisperLive sim defaults`);
  const jobs: (() => Promise<TurnResult>)[] = [];
  for (let r = 0; r < REPS; r++) {
    for (const turn of TURNS_CORPUS) {
      // Alternate which mode goes first, so drift on a shared machine hits both alike.
      const modes: Mode[] = r % 2 === 0 ? ['off', 'on'] : ['on', 'off'];
      for (const mode of modes) jobs.push(() => runTurn(gw.url, mode, turn, clips, photo));
    }
  }
  const t0 = performance.now();
  const results = await pool(jobs, PARALLEL);
  const wallS = (performance.now() - t0) / 1000;
  await gw.stop();
  await Promise.all([llm.close(), vlm.close(), gsam.close(), wl.close()]);

  const errors = results.filter((r) => r.error !== undefined);
  const by = (mode: Mode, pred: (r: TurnResult) => boolean): TurnResult[] => results.filter((r) => r.mode === mode && r.metrics !== undefined && pred(r));
  const spokenSeg = (r: TurnResult): boolean => r.turn.kind === 'spoken' && r.turn.segment;
  const spokenGen = (r: TurnResult): boolean => r.turn.kind === 'spoken' && !r.turn.segment;
  const marks = (rs: TurnResult[], k: keyof TurnMetricsMsg['marks']): number[] => rs.map((r) => r.metrics?.marks[k]).filter((v): v is number => v !== undefined);
  const row = (mode: Mode) => {
    const seg = by(mode, spokenSeg);
    const gen = by(mode, spokenGen);
    const all = by(mode, () => true);
    const committed = all.reduce((n, r) => n + (r.metrics?.counts.spec_committed ?? 0), 0);
    const discarded = all.reduce((n, r) => n + (r.metrics?.counts.spec_discarded ?? 0), 0);
    return {
      mode,
      spokenSegmentTurns: seg.length,
      firstMaskMs: summarize(marks(seg, 'first_mask')),
      firstBoxMs: summarize(marks(seg, 'first_box')),
      asrFinalMs: summarize(marks([...seg, ...gen], 'asr_final')),
      spokenAnswerTurns: gen.length,
      firstTokenMs: summarize(marks(gen, 'first_token')),
      typedFirstMaskMs: summarize(marks(by(mode, (r) => r.turn.kind === 'typed' && r.turn.segment), 'first_mask')),
      typedFirstTokenMs: summarize(marks(by(mode, (r) => r.turn.kind === 'typed' && !r.turn.segment), 'first_token')),
      specCommitted: committed,
      specDiscarded: discarded,
      discardedShare: committed + discarded === 0 ? 0 : r2(discarded / (committed + discarded)),
    };
  };
  const off = row('off');
  const on = row('on');
  const cut = 1 - median(marks(by('on', spokenSeg), 'first_mask')) / median(marks(by('off', spokenSeg), 'first_mask'));
  const tokenCut = 1 - median(marks(by('on', spokenGen), 'first_token')) / median(marks(by('off', spokenGen), 'first_token'));
  const intentOk = results.filter((r) => r.intent !== undefined && (r.intent === r.turn.expect || (r.turn.segment ? r.intent === 'segment' : false))).length;
  const cls = classifierCost();
  const meets = cut >= 0.3 && on.discardedShare <= 0.1;
  const report = {
    date: new Date().toISOString(),
    node: process.version,
    latencies: LAT,
    reps: REPS,
    parallel: PARALLEL,
    wallS: r2(wallS),
    turns: results.length,
    errors: errors.map((e) => `${e.mode} ${e.turn.kind === 'spoken' ? e.turn.clip : e.turn.text}: ${e.error}`),
    segmenterRequests: segmentRequests,
    off,
    on,
    medianFirstMaskCut: r2(cut),
    medianFirstTokenCut: r2(tokenCut),
    target: { firstMaskCutAtLeast: 0.3, discardedAtMost: 0.1, met: meets },
    intentAgreementInRun: r2(intentOk / Math.max(1, results.filter((r) => r.intent !== undefined).length)),
    classifier: cls,
  };
  const f = (s: { p50: number; p90: number; max: number; n: number }): string => `${r2(s.p50)} / ${r2(s.p90)} / ${r2(s.max)} (n=${s.n})`;
  const md = [
    `# bench:turns — ${report.date.slice(0, 10)}`,
    '',
    `Corpus: ${TURNS_CORPUS.length} turns (5 spoken clips made with espeak-ng, 3 typed), each with a 640×480 image, ${REPS} repetitions per mode, speculation off and on alternating in the same run, ${PARALLEL} sessions at a time; gateway as a child process (ws), simulators in the benchmark process. Wall time ${report.wallS} s, ${results.length} turns, ${errors.length} errors.`,
    '',
    `Backend latencies: Grounded-SAM detection ${LAT.detectMs} ms, ${LAT.perMaskMs} ms per mask (±20 %); TGI first token ${LAT.llmTtft} ms (Llama-2-7B) / ${LAT.vlmTtft} ms (IDEFICS-9B), ${LAT.itl} ms per token; WhisperLive simulator defaults (partials every 400 ms, a segment completes after 500 ms of silence + 250 ms).`,
    '',
    'All times are ms from the end of speech (the VAD’s speech end, in the audio clock); p50 / p90 / max.',
    '',
    '| | speculation off | speculation on |',
    '|---|---|---|',
    `| spoken segmentation: end of speech → first mask | ${f(off.firstMaskMs)} | ${f(on.firstMaskMs)} |`,
    `| spoken segmentation: end of speech → first box | ${f(off.firstBoxMs)} | ${f(on.firstBoxMs)} |`,
    `| spoken: end of speech → final transcript | ${f(off.asrFinalMs)} | ${f(on.asrFinalMs)} |`,
    `| spoken answers: end of speech → first token | ${f(off.firstTokenMs)} | ${f(on.firstTokenMs)} |`,
    `| typed segmentation: turn.start → first mask | ${f(off.typedFirstMaskMs)} | ${f(on.typedFirstMaskMs)} |`,
    `| typed answers: turn.start → first token | ${f(off.typedFirstTokenMs)} | ${f(on.typedFirstTokenMs)} |`,
    `| speculative calls committed / discarded | ${off.specCommitted} / ${off.specDiscarded} | ${on.specCommitted} / ${on.specDiscarded} (${Math.round(on.discardedShare * 100)} % discarded) |`,
    '',
    `**Median end of speech → first mask: ${Math.round(cut * 100)} % shorter with speculation** (target ≥ 30 % with ≤ 10 % of speculative calls discarded: ${meets ? 'met' : 'NOT met'}). Median end of speech → first token: ${Math.round(tokenCut * 100)} % shorter.`,
    '',
    `Intent classifier (built-in rules): ${cls.perPartialUs} µs per partial transcript (mean over ${cls.partials} word-by-word prefixes of the corpus × 50, result cache off), accuracy ${Math.round(cls.accuracy * 100)} % on the corpus’s ${cls.n} final texts; the top label of the turns in this run agreed with the expected intent in ${Math.round(report.intentAgreementInRun * 100)} % of turns. Served classifiers: \`npx tsx loadtest/bench/intent.ts\`.`,
    '',
  ].join('\n');
  console.log(md);
  mkdirSync(args.out, { recursive: true });
  const stamp = report.date.slice(0, 10);
  writeFileSync(join(args.out, `turns-${stamp}.md`), md);
  writeFileSync(join(args.out, `turns-${stamp}.json`), `${JSON.stringify(report, null, 2)}\n`);
  console.log(`wrote ${join(args.out, `turns-${stamp}.{md,json}`)}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

// Intent classifier benchmark: accuracy on the labelled corpus (corpus.ts) and cost per
// classification for each classifier behind the port, as one table.
//   rules      in-process: µs per classify of whole utterances, and per partial transcript (every
//              utterance fed as word-by-word prefixes, as an ASR emits them), cold and warm
//   zero-shot  an HF zero-shot-classification endpoint: ms round trip
//   llm        Llama-2 through TGI /generate with a JSON grammar: ms round trip
// Served classifiers pay one round trip per distinct (partial) text; their "per partial" column is
// measured on the corpus's partial sequences (PARTIAL_SEQUENCES, 84 prefixes) with the client cache
// off. The zero-shot endpoint is measured one request at a time (one GPU worker: concurrent
// requests queue); TGI with a few in flight (it batches them).
//
//   npx tsx src/understanding/bench-intent.ts                      rules only
//   npx tsx src/understanding/bench-intent.ts --zero-shot-url URL --tgi-url URL
//   npx tsx loadtest/bench/intent.ts                               starts both simulators on loopback
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import type { IntentClassifier } from './classifier-port.ts';
import { CORPUS, PARTIAL_SEQUENCES, prefixes } from './corpus.ts';
import { LlmIntentClassifier } from './llm-classifier.ts';
import { RulesIntentClassifier, topLabel } from './rules.ts';
import { ZeroShotClassifier } from './zero-shot.ts';

export interface IntentBenchOptions {
  zeroShotUrl?: string;
  tgiUrl?: string;
  /** Corpus requests in flight at once against TGI (default 4; TGI batches them). */
  llmConcurrency?: number;
  /** Rounds of the warm rules partial benchmark (default 20). */
  rulesRounds?: number;
  /** Where lines go (default stdout). */
  out?: (line: string) => void;
  /** Label printed in the table's notes for the served backends (e.g. "simulated, loopback"). */
  servedNote?: string;
}

export interface Stats {
  n: number;
  mean: number;
  p50: number;
  p99: number;
}

export interface BenchRow {
  classifier: string;
  accuracy: { right: number; total: number };
  /** Whole utterances. */
  perClassification: Stats & { unit: 'µs' | 'ms' };
  /** Word-by-word prefixes. */
  perPartial: (Stats & { unit: 'µs' | 'ms' }) | null;
  /** Extra rows of partial cost (e.g. cold). */
  extraPartial?: { label: string; stats: Stats & { unit: 'µs' | 'ms' } };
  notes: string;
}

function stats(values: number[]): Stats {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? 0;
  const mean = sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length);
  return { n: sorted.length, mean, p50: at(0.5), p99: at(0.99) };
}

const nowUs = (): bigint => process.hrtime.bigint();
const usSince = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1000;

function rulesRow(rounds: number): BenchRow {
  // Partials, cold: first sight of each word parses it with compromise (only cold on a fresh process).
  const jobs = CORPUS.flatMap((k) => prefixes(k.text).map((text) => ({ text, hasImage: k.hasImage })));
  const cold = new RulesIntentClassifier({ cacheSize: 1 });
  const coldTimes = jobs.map((j) => {
    const t0 = nowUs();
    cold.classify(j.text, j);
    return usSince(t0);
  });
  // Partials, warm: word cache filled, as in a running gateway; alternating image context defeats
  // the one-entry result cache.
  const warm = new RulesIntentClassifier({ cacheSize: 1 });
  for (const j of jobs) warm.classify(j.text, j);
  const warmTimes: number[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const j of jobs) {
      const t0 = nowUs();
      warm.classify(j.text, { hasImage: r % 2 === 0 ? j.hasImage : !j.hasImage });
      warmTimes.push(usSince(t0));
    }
  }
  // Whole utterances with a fresh lemmatizer state each time (no incremental reuse), warm words.
  const whole: number[] = [];
  let right = 0;
  for (let r = 0; r < rounds; r++) {
    for (const k of CORPUS) {
      const c = new RulesIntentClassifier({ cacheSize: 1 });
      const t0 = nowUs();
      const top = topLabel(c.classify(k.text, k));
      whole.push(usSince(t0));
      if (r === 0 && top === k.label) right++;
    }
  }
  return {
    classifier: 'rules (in-process)',
    accuracy: { right, total: CORPUS.length },
    perClassification: { ...stats(whole), unit: 'µs' },
    perPartial: { ...stats(warmTimes), unit: 'µs' },
    extraPartial: { label: 'cold (first sight of each word)', stats: { ...stats(coldTimes), unit: 'µs' } },
    notes: `${jobs.length} partials × ${rounds} rounds; word cache warm`,
  };
}

async function servedRow(
  name: string,
  make: () => IntentClassifier & { close(): Promise<void> },
  concurrency: number,
  note: string,
): Promise<BenchRow> {
  const c = make();
  try {
    // Warm the connection pool and the upstream (first request pays the TCP connect).
    await c.classify('hello there', { hasImage: false });
    const times: number[] = [];
    let right = 0;
    for (let i = 0; i < CORPUS.length; i += concurrency) {
      await Promise.all(
        CORPUS.slice(i, i + concurrency).map(async (k) => {
          const t0 = performance.now();
          const top = topLabel(await c.classify(k.text, k));
          times.push(performance.now() - t0);
          if (top === k.label) right++;
        }),
      );
    }
    // Partials: each sequence in order (one ASR stream), `concurrency` streams side by side.
    const partialTimes: number[] = [];
    for (let i = 0; i < PARTIAL_SEQUENCES.length; i += concurrency) {
      await Promise.all(
        PARTIAL_SEQUENCES.slice(i, i + concurrency).map(async (seq) => {
          for (const p of seq.partials) {
            const t0 = performance.now();
            await c.classify(p, seq);
            partialTimes.push(performance.now() - t0);
          }
        }),
      );
    }
    return {
      classifier: name,
      accuracy: { right, total: CORPUS.length },
      perClassification: { ...stats(times), unit: 'ms' },
      perPartial: { ...stats(partialTimes), unit: 'ms' },
      notes: `${note}; ${concurrency} request${concurrency === 1 ? '' : 's'} in flight; ${PARTIAL_SEQUENCES.length} partial streams; cache off`,
    };
  } finally {
    await c.close();
  }
}

const fmt = (s: Stats & { unit: string }): string =>
  `${s.mean.toFixed(1)} / ${s.p50.toFixed(1)} / ${s.p99.toFixed(1)} ${s.unit} (n=${s.n})`;

export function renderTable(rows: BenchRow[]): string[] {
  const lines = [
    '| classifier | accuracy | per classification, mean / p50 / p99 | per partial transcript, mean / p50 / p99 | notes |',
    '|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const acc = `${r.accuracy.right}/${r.accuracy.total} = ${((100 * r.accuracy.right) / r.accuracy.total).toFixed(1)}%`;
    let partial = r.perPartial === null ? '—' : fmt(r.perPartial);
    if (r.extraPartial) partial += `; ${r.extraPartial.label}: ${fmt(r.extraPartial.stats)}`;
    lines.push(`| ${r.classifier} | ${acc} | ${fmt(r.perClassification)} | ${partial} | ${r.notes} |`);
  }
  return lines;
}

export async function runIntentBench(opts: IntentBenchOptions = {}): Promise<BenchRow[]> {
  const out = opts.out ?? ((line: string): void => void process.stdout.write(`${line}\n`));
  const note = opts.servedNote ?? 'served';
  const rows: BenchRow[] = [rulesRow(opts.rulesRounds ?? 20)];
  if (opts.zeroShotUrl !== undefined) {
    const url = opts.zeroShotUrl;
    rows.push(await servedRow('zero-shot (HF endpoint)', () => new ZeroShotClassifier({ url, cacheSize: 0, timeoutMs: 5000 }), 1, note));
  }
  if (opts.tgiUrl !== undefined) {
    const url = opts.tgiUrl;
    rows.push(
      await servedRow(
        'llm (TGI /generate + JSON grammar)',
        () => new LlmIntentClassifier({ url, cacheSize: 0, timeoutMs: 15_000 }),
        opts.llmConcurrency ?? 4,
        note,
      ),
    );
  }
  for (const line of renderTable(rows)) out(line);
  return rows;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      'zero-shot-url': { type: 'string' },
      'tgi-url': { type: 'string' },
      'llm-concurrency': { type: 'string' },
    },
  });
  await runIntentBench({
    ...(values['zero-shot-url'] === undefined ? {} : { zeroShotUrl: values['zero-shot-url'] }),
    ...(values['tgi-url'] === undefined ? {} : { tgiUrl: values['tgi-url'] }),
    ...(values['llm-concurrency'] === undefined ? {} : { llmConcurrency: Number(values['llm-concurrency']) }),
  });
}

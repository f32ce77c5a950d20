// Benchmark (run with `npx tsx src/understanding/bench-intent.ts`): mean and p99 µs per classify of
// the rules classifier over the corpus, fed as word-by-word partials, plus its accuracy.
import { CORPUS, prefixes } from './corpus.ts';
import { RulesIntentClassifier, topLabel } from './rules.ts';

const out = (line: string): void => void process.stdout.write(`${line}\n`);

function bench(label: string, rounds: number, warm: boolean): void {
  const c = new RulesIntentClassifier({ cacheSize: 1 });
  const jobs = CORPUS.flatMap((k) => prefixes(k.text).map((text) => ({ text, hasImage: k.hasImage })));
  if (warm) for (const j of jobs) c.classify(j.text, j);
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const j of jobs) {
      const t0 = process.hrtime.bigint();
      c.classify(j.text, { hasImage: r % 2 === 0 ? j.hasImage : !j.hasImage });
      times.push(Number(process.hrtime.bigint() - t0) / 1000);
    }
  }
  times.sort((a, b) => a - b);
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  const p99 = times[Math.min(times.length - 1, Math.floor(times.length * 0.99))] ?? 0;
  out(`${label}: ${times.length} classifies, mean ${mean.toFixed(1)} µs, p99 ${p99.toFixed(1)} µs`);
}

bench('cold (first sight of each word parses it with compromise)', 1, false);
bench('warm (word cache filled, as in a running gateway)', 20, true);

const classifier = new RulesIntentClassifier();
const right = CORPUS.filter((k) => topLabel(classifier.classify(k.text, k)) === k.label).length;
out(`accuracy: ${right}/${CORPUS.length} = ${((100 * right) / CORPUS.length).toFixed(1)}%`);

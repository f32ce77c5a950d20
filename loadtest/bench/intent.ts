// `npx tsx loadtest/bench/intent.ts`: the intent classifier benchmark (src/understanding/bench-intent.ts)
// with both served classifiers pointed at simulators started here on loopback: the zero-shot
// endpoint (sim/zero-shot, mDeBERTa-on-GPU latency: 8 ms + 2.5 ms per label, ±25%) and TGI
// (sim/tgi, Llama-2-7b on an A10G-class GPU: 180 ms to first token + 0.15 ms per prompt token,
// 28 ms per token, ±20%). Prints the table; writes no report.
import { parseArgs } from 'node:util';
import { startTgiSim } from '../../sim/tgi/index.ts';
import { startZeroShotSim } from '../../sim/zero-shot/index.ts';
import { runIntentBench } from '../../src/understanding/bench-intent.ts';

const { values } = parseArgs({
  options: {
    'ttft-ms': { type: 'string', default: '180' },
    'itl-ms': { type: 'string', default: '28' },
    'zs-base-ms': { type: 'string', default: '8' },
    'zs-per-label-ms': { type: 'string', default: '2.5' },
    'llm-concurrency': { type: 'string', default: '4' },
  },
});

const zeroShot = await startZeroShotSim({ latency: { baseMs: Number(values['zs-base-ms']), perLabelMs: Number(values['zs-per-label-ms']) } });
const tgi = await startTgiSim({ ttftMs: Number(values['ttft-ms']), itlMs: Number(values['itl-ms']) });
try {
  console.log(`zero-shot sim ${zeroShot.url} (${zeroShot.modelId}); TGI sim ${tgi.url} (${tgi.modelId}); ttft ${values['ttft-ms']} ms, itl ${values['itl-ms']} ms`);
  await runIntentBench({
    zeroShotUrl: zeroShot.url,
    tgiUrl: tgi.url,
    llmConcurrency: Number(values['llm-concurrency']),
    servedNote: 'simulator on loopback',
  });
} finally {
  await zeroShot.close();
  await tgi.close();
}

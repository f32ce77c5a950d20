// The relay benchmark's simulated fleet in a process of its own, as TGI and SageMaker are in
// production: the simulated TGI (native API and Messages API) and a SageMaker runtime in front of
// it. It stamps each token write with CLOCK_MONOTONIC (one clock for every process on the machine)
// and hands the stamps to the load generator over IPC after each phase.
//   forked by relay-sim.ts with one JSON argument: { ttftMs, itlMs, tokens, smEndpoint }
import { startTgiSim } from '../../sim/tgi/index.ts';
import { startSageMakerSim } from '../../sim/sagemaker/index.ts';
import type { SimChildMessage, SimParentMessage } from './relay-sim.ts';

const cfg = JSON.parse(process.argv[2] ?? '{}') as { ttftMs: number; itlMs: number; tokens: number; smEndpoint: string };
const send = (m: SimChildMessage): void => {
  process.send?.(m);
};
const monoMs = (): number => Number(process.hrtime.bigint()) / 1e6;

const sim = await startTgiSim({
  ttftMs: cfg.ttftMs,
  itlMs: cfg.itlMs,
  jitter: 0.2,
  loadFactor: 0,
  maxConcurrent: 100_000,
  traceEmits: true,
  keepAliveMs: 0,
  answerTokens: { min: cfg.tokens * 4, max: cfg.tokens * 4 },
});
// Payload parts as the container writes them (as SageMaker relays them); the awkward splits are
// covered by tests and would only load the simulator here.
const sm = await startSageMakerSim({ endpoints: { [cfg.smEndpoint]: { tgiUrl: sim.url } }, chunking: 'events' });

let emits = new Map<number, number[]>();
sim.events.on('token-emitted', (e) => {
  // Stamped in the write's own tick (the event fires right after it).
  const at = monoMs();
  let a = emits.get(e.seed);
  if (!a) emits.set(e.seed, (a = []));
  a[e.index] = at;
});

process.on('message', (m: SimParentMessage) => {
  switch (m.t) {
    case 'emits': {
      const out: [number, number[]][] = [...emits];
      emits = new Map();
      send({ t: 'emits', id: m.id, emits: out });
      return;
    }
    case 'stop':
      void Promise.all([sm.close(), sim.close()]).finally(() => process.exit(0));
      return;
    default: {
      const never: never = m;
      throw new Error(`unknown message ${JSON.stringify(never)}`);
    }
  }
});
process.on('disconnect', () => process.exit(0));
send({ t: 'ready', tgiUrl: sim.url, smUrl: sm.url });

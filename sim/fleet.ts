// Starts the default simulated fleet: a Llama-2-7b-chat TGI ("llm") and an IDEFICS-9b-instruct TGI
// ("vlm") on their own ports. Other simulated services (Whisper, Grounded-SAM, SageMaker) join here.
import type { FaultPlan } from './faults.ts';
import { startTgiSim, type TgiSim, type TgiSimOptions } from './tgi/index.ts';

export interface FleetSimOptions {
  /** Bind address for every service (default 127.0.0.1). */
  host?: string;
  /** Ports (default 0 = ephemeral). */
  llmPort?: number;
  vlmPort?: number;
  /** Latency and framing shared by both TGI servers (see TgiSimOptions). */
  ttftMs?: number;
  itlMs?: number;
  jitter?: number;
  legacyFraming?: boolean;
  traceEmits?: boolean;
  faults?: FaultPlan;
  /** Per-server overrides, applied last. */
  llm?: TgiSimOptions;
  vlm?: TgiSimOptions;
}

export interface FleetSim {
  llm: TgiSim;
  vlm: TgiSim;
  llmUrl: string;
  vlmUrl: string;
  urls: { llm: string; vlm: string };
  close(): Promise<void>;
}

export async function startFleetSim(opts: FleetSimOptions = {}): Promise<FleetSim> {
  const shared: TgiSimOptions = {};
  if (opts.host !== undefined) shared.host = opts.host;
  if (opts.ttftMs !== undefined) shared.ttftMs = opts.ttftMs;
  if (opts.itlMs !== undefined) shared.itlMs = opts.itlMs;
  if (opts.jitter !== undefined) shared.jitter = opts.jitter;
  if (opts.legacyFraming !== undefined) shared.legacyFraming = opts.legacyFraming;
  if (opts.traceEmits !== undefined) shared.traceEmits = opts.traceEmits;
  if (opts.faults !== undefined) shared.faults = opts.faults;
  const started: TgiSim[] = [];
  try {
    const llm = await startTgiSim({ ...shared, kind: 'llm', port: opts.llmPort ?? 0, ...opts.llm });
    started.push(llm);
    const vlm = await startTgiSim({ ...shared, kind: 'vlm', port: opts.vlmPort ?? 0, ...opts.vlm });
    started.push(vlm);
    return {
      llm,
      vlm,
      llmUrl: llm.url,
      vlmUrl: vlm.url,
      urls: { llm: llm.url, vlm: vlm.url },
      close: async () => {
        await Promise.all([llm.close(), vlm.close()]);
      },
    };
  } catch (err) {
    await Promise.all(started.map((s) => s.close()));
    throw err;
  }
}

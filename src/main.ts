// Composition root: config → (embedded simulated fleet when no backend URL is configured) →
// gateway → signals. The embedded simulator is loaded here only, by dynamic import; the gateway
// core reaches every backend, simulated or real, by URL.
import { loadConfig, ConfigError } from './config/load.ts';
import { limitsAdvice } from './config/limits-advice.ts';
import type { Config } from './config/schema.ts';
import { createLogger } from './observability/log.ts';
import { installFatalHandlers, safeErrorFields } from './observability/fatal.ts';
import { Gateway } from './gateway.ts';
import { cpuBudget, gcPlacementAdvice } from './observability/cpu-budget.ts';

interface EmbeddedFleet {
  close(): Promise<void>;
}

interface Embedded {
  config: Config;
  fleet: EmbeddedFleet | undefined;
  /** The simulated SageMaker runtime accepts any credentials; the AWS chain may have none here. */
  simulatedAwsCredentials?: { accessKeyId: string; secretAccessKey: string };
}

async function startEmbeddedFleet(config: Config, log: ReturnType<typeof createLogger>): Promise<Embedded> {
  const missing = config.models.filter((m) => (m.backend === 'sagemaker' ? m.sagemaker?.endpointUrl === undefined : m.urls.length === 0));
  const asrMissing = config.asr.backend === 'sagemaker' ? config.asr.sagemaker === undefined : config.asr.url === undefined;
  const seg = config.segmenter;
  const segMissing = seg.backend === 'sagemaker' ? seg.sagemaker?.endpointUrl === undefined : seg.url === undefined;
  // Without a segmenter URL segmentation is simply unavailable (and a SageMaker segmenter without
  // endpointUrl goes to AWS), unless the fleet is simulated anyway: then its simulated Grounded-SAM
  // serves it, directly or behind the simulated SageMaker runtime. Never a simulator next to real models.
  if (missing.length === 0) return { config, fleet: undefined };
  if (config.sim === 'off') {
    throw new ConfigError(`models without a URL and sim=off: ${missing.map((m) => m.id).join(', ')} (set VLP_TGI_URL / VLP_IDEFICS_URL or models[].urls)`);
  }
  const { startFleetSim } = await import('../sim/fleet.ts');
  const fleet = await startFleetSim({
    host: '127.0.0.1',
    ttftMs: config.simulator.ttftMs,
    itlMs: config.simulator.itlMs,
    jitter: config.simulator.jitter,
  });
  const urlFor = (kind: 'llm' | 'vlm'): string => (kind === 'llm' ? fleet.llmUrl : fleet.vlmUrl);
  const models = config.models.map((m) => {
    if (!missing.includes(m)) return m;
    if (m.backend === 'sagemaker' && m.sagemaker) {
      // The simulated runtime fronts the simulated TGIs with one endpoint per model kind.
      return { ...m, sagemaker: { ...m.sagemaker, endpointUrl: fleet.sagemakerUrl, endpointName: fleet.sagemakerEndpoints[m.kind], region: m.sagemaker.region ?? 'us-east-1' } };
    }
    return { ...m, urls: [urlFor(m.kind)] };
  });
  log.warn(
    { simulated: missing.map((m) => ({ model: m.id, backend: m.backend, url: m.backend === 'sagemaker' ? fleet.sagemakerUrl : urlFor(m.kind) })) },
    'SIMULATED FLEET: no backend URL configured, serving these models from the built-in fleet simulator (not real models)',
  );
  let segmenter = config.segmenter;
  if (segMissing) {
    if (segmenter.backend === 'sagemaker') {
      // The simulated runtime's Grounded-SAM endpoint fronts the simulated Grounded-SAM service.
      const sm = segmenter.sagemaker;
      segmenter = {
        ...segmenter,
        sagemaker: { endpointName: fleet.sagemakerEndpoints.segmenter, endpointUrl: fleet.sagemakerUrl, region: sm?.region ?? 'us-east-1', streaming: sm?.streaming ?? true },
      };
    } else {
      segmenter = { ...segmenter, url: fleet.groundedSamUrl };
    }
    log.warn(
      { backend: segmenter.backend, url: segmenter.backend === 'sagemaker' ? fleet.sagemakerUrl : fleet.groundedSamUrl },
      'SIMULATED FLEET: Grounded-SAM served by the built-in simulator',
    );
  }
  let asr = config.asr;
  if (asrMissing) {
    switch (asr.backend) {
      case 'whisperlive':
        asr = { ...asr, url: fleet.whisperLiveUrl };
        break;
      case 'whisper-asr':
        asr = { ...asr, url: fleet.whisperAsrUrl };
        break;
      case 'sagemaker':
        asr = { ...asr, sagemaker: { endpointName: fleet.sagemakerEndpoints.asr, endpointUrl: fleet.sagemakerUrl, region: 'us-east-1' } };
        break;
      default: {
        const never: never = asr.backend;
        throw new Error(`unknown asr backend ${String(never)}`);
      }
    }
    log.warn({ backend: asr.backend }, 'SIMULATED FLEET: speech recognition served by the built-in simulator (registered clips, placeholder words otherwise)');
  }
  // Static credentials go to both SageMaker clients (ASR, segmenter): only when no real endpoint
  // is configured beside a simulated one (the simulator accepts any credentials, AWS would not).
  const simulatedSm = (asrMissing && asr.backend === 'sagemaker') || (segMissing && seg.backend === 'sagemaker');
  const realSm = (!asrMissing && asr.backend === 'sagemaker') || (!segMissing && seg.backend === 'sagemaker');
  const simulatedAwsCredentials = simulatedSm && !realSm ? { accessKeyId: 'SIMULATED', secretAccessKey: 'SIMULATED' } : undefined;
  let intent = config.intent;
  if (intent.classifier === 'zero-shot' && intent.url === undefined) {
    intent = { ...intent, url: fleet.zeroShotUrl };
    log.warn({ url: fleet.zeroShotUrl }, 'SIMULATED FLEET: zero-shot intent classifier served by the built-in simulator');
  }
  return { config: { ...config, models, segmenter, asr, intent }, fleet, ...(simulatedAwsCredentials ? { simulatedAwsCredentials } : {}) };
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig({ argv: process.argv.slice(2), env: process.env });
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`vlp-live: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(config.logLevel);
  const cpu = cpuBudget();
  const advice = gcPlacementAdvice(cpu);
  if (advice !== undefined) log.warn({ cpu }, advice);
  const limitsWarning = limitsAdvice(config.limits);
  if (limitsWarning !== undefined) log.warn(limitsWarning);
  const embedded = await startEmbeddedFleet(config, log);
  const gateway = new Gateway(embedded.config, log, {
    env: process.env,
    ...(embedded.simulatedAwsCredentials ? { awsCredentials: embedded.simulatedAwsCredentials } : {}),
  });
  const port = await gateway.start();
  log.info({ port, host: config.host, transport: config.transport, path: config.wsPath, models: gateway.ctx.models.list().map((m) => m.id), cpu }, 'vlp-live gateway listening');

  let stopping = false;
  const stop = async (signal: string, exitCode: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'signal received');
    const force = setTimeout(() => {
      log.error('shutdown took too long, exiting');
      process.exit(1);
    }, config.shutdownGraceMs + 5000);
    force.unref();
    try {
      await gateway.shutdown();
      await embedded.fleet?.close();
    } catch (err) {
      log.error({ error: safeErrorFields(err) }, 'shutdown failed');
      process.exit(1);
    }
    process.exit(exitCode);
  };
  // stop() handles the shutdown's own failures; one outside them (the log, a timer) is logged here
  // and exits 1 like those, rather than becoming an unhandled rejection whose handler finds the
  // shutdown already started and the process never exiting.
  const stopOrExit = (signal: string, exitCode: number): void => {
    stop(signal, exitCode).catch((err: unknown) => {
      log.error({ error: safeErrorFields(err) }, 'shutdown failed');
      process.exit(1);
    });
  };
  process.on('SIGTERM', () => stopOrExit('SIGTERM', 0));
  process.on('SIGINT', () => stopOrExit('SIGINT', 0));
  // After an uncaught exception the process state is unknown: drain and exit non-zero.
  installFatalHandlers(process, log, (reason) => stopOrExit(reason, 1));
}

main().catch((err: unknown) => {
  console.error('vlp-live: fatal', err);
  process.exit(1);
});

// CLI entry of the fleet simulator (`npm run sim`): starts the simulated TGI servers, Grounded-SAM,
// the simulated SageMaker runtime in front of those (plus a Whisper endpoint), WhisperLive and
// whisper-asr-webservice, the zero-shot intent classifier, and prints their URLs, clearly marked
// SIMULATED. Flags override env: --host --llm-port --vlm-port --sagemaker-port --grounded-sam-port
// --whisperlive-port --whisper-asr-port --zero-shot-port --ttft-ms --itl-ms --jitter --legacy-framing
// (env SIM_HOST, SIM_LLM_PORT, SIM_VLM_PORT, SIM_SAGEMAKER_PORT, SIM_GROUNDED_SAM_PORT,
// SIM_WHISPERLIVE_PORT, SIM_WHISPER_ASR_PORT, SIM_ZERO_SHOT_PORT, SIM_TTFT_MS, SIM_ITL_MS, SIM_JITTER,
// SIM_LEGACY_FRAMING=1).
import { parseArgs } from 'node:util';
import { startFleetSim, type FleetSimOptions } from './fleet.ts';
import { ADMIN_FAULTS_PATH } from './tgi/index.ts';

function num(name: string, flag: string | undefined, env: string | undefined): number | undefined {
  const raw = flag ?? env;
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) {
    console.error(`sim: --${name} must be a non-negative number, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      host: { type: 'string' },
      'llm-port': { type: 'string' },
      'vlm-port': { type: 'string' },
      'sagemaker-port': { type: 'string' },
      'grounded-sam-port': { type: 'string' },
      'whisperlive-port': { type: 'string' },
      'whisper-asr-port': { type: 'string' },
      'zero-shot-port': { type: 'string' },
      'ttft-ms': { type: 'string' },
      'itl-ms': { type: 'string' },
      jitter: { type: 'string' },
      'legacy-framing': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(
      'usage: npm run sim -- [--host 127.0.0.1] [--llm-port 3000] [--vlm-port 3001] [--sagemaker-port 3002] [--grounded-sam-port 3003] [--whisperlive-port 9090] [--whisper-asr-port 9000] [--zero-shot-port 3004] [--ttft-ms 180] [--itl-ms 28] [--jitter 0.2] [--legacy-framing]',
    );
    return;
  }
  const env = process.env;
  const opts: FleetSimOptions = {
    host: values.host ?? env.SIM_HOST ?? '127.0.0.1',
    llmPort: num('llm-port', values['llm-port'], env.SIM_LLM_PORT) ?? 3000,
    vlmPort: num('vlm-port', values['vlm-port'], env.SIM_VLM_PORT) ?? 3001,
    sagemakerPort: num('sagemaker-port', values['sagemaker-port'], env.SIM_SAGEMAKER_PORT) ?? 3002,
    groundedSamPort: num('grounded-sam-port', values['grounded-sam-port'], env.SIM_GROUNDED_SAM_PORT) ?? 3003,
    whisperLivePort: num('whisperlive-port', values['whisperlive-port'], env.SIM_WHISPERLIVE_PORT) ?? 9090,
    whisperAsrPort: num('whisper-asr-port', values['whisper-asr-port'], env.SIM_WHISPER_ASR_PORT) ?? 9000,
    zeroShotPort: num('zero-shot-port', values['zero-shot-port'], env.SIM_ZERO_SHOT_PORT) ?? 3004,
    legacyFraming: values['legacy-framing'] ?? ['1', 'true'].includes(env.SIM_LEGACY_FRAMING ?? ''),
  };
  const ttftMs = num('ttft-ms', values['ttft-ms'], env.SIM_TTFT_MS);
  const itlMs = num('itl-ms', values['itl-ms'], env.SIM_ITL_MS);
  const jitter = num('jitter', values.jitter, env.SIM_JITTER);
  if (ttftMs !== undefined) opts.ttftMs = ttftMs;
  if (itlMs !== undefined) opts.itlMs = itlMs;
  if (jitter !== undefined) opts.jitter = jitter;

  const fleet = await startFleetSim(opts);
  console.log('=== vlp-live FLEET SIMULATOR — SIMULATED backends, no real models ===');
  console.log(`SIMULATED TGI llm  ${fleet.llm.modelId.padEnd(36)} ${fleet.llmUrl}`);
  console.log(`SIMULATED TGI vlm  ${fleet.vlm.modelId.padEnd(36)} ${fleet.vlmUrl}`);
  console.log(
    `SIMULATED SageMaker runtime ${fleet.sagemakerUrl}  endpoints ${fleet.sagemakerEndpoints.llm} → llm, ${fleet.sagemakerEndpoints.vlm} → vlm, ${fleet.sagemakerEndpoints.asr} → Whisper (audio/wav), ${fleet.sagemakerEndpoints.segmenter} → Grounded-SAM (NDJSON) (any region, any credentials)`,
  );
  console.log(`SIMULATED Grounded-SAM (POST /detect_segment, NDJSON) ${fleet.groundedSamUrl}`);
  console.log(`SIMULATED WhisperLive (WebSocket, faster_whisper protocol) ${fleet.whisperLiveUrl}`);
  console.log(`SIMULATED whisper-asr-webservice (POST /asr, /detect-language; engine ${fleet.whisperAsr.engine}) ${fleet.whisperAsrUrl}`);
  console.log(`SIMULATED zero-shot intent classifier (HF zero-shot-classification, ${fleet.zeroShot.modelId}) ${fleet.zeroShotUrl}`);
  console.log('ASR answers registered clips (sim/asr/clips.json; make them with `npx tsx scripts/gen-audio-clips.ts`) and placeholder words otherwise');
  console.log(`framing: ${opts.legacyFraming ? 'legacy "data:{...}"' : '"data: {...}"'}; fault admin: POST/DELETE <url>${ADMIN_FAULTS_PATH}`);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    console.log(`sim: ${signal}, shutting down`);
    const force = setTimeout(() => process.exit(1), 5000);
    force.unref();
    fleet.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error('sim: close failed', err);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  console.error('sim: fatal', err);
  process.exit(1);
});

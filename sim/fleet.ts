// Starts the default simulated fleet: a Llama-2-7b-chat TGI ("llm"), an IDEFICS-9b-instruct TGI
// ("vlm"), a Grounded-SAM service, a SageMaker runtime with one endpoint in front of each of those
// three ("segmenter" fronts Grounded-SAM) plus a JumpStart Whisper endpoint ("asr"), and the speech
// recognisers WhisperLive (WebSocket) and whisper-asr-webservice (HTTP), and the zero-shot intent
// classifier (Hugging Face Inference API).
import { startWhisperAsrSim, startWhisperLiveSim, type WhisperAsrSim, type WhisperAsrSimOptions, type WhisperLiveSim, type WhisperLiveSimOptions } from './asr/index.ts';
import type { FaultPlan } from './faults.ts';
import { startGroundedSamSim, type GroundedSamSim, type GroundedSamSimOptions } from './grounded-sam/index.ts';
import { startSageMakerSim, type SageMakerSim, type SageMakerSimOptions, type SageMakerWhisperEndpointConfig } from './sagemaker/index.ts';
import { startZeroShotSim, type ZeroShotSim } from './zero-shot/index.ts';
import { startTgiSim, type TgiSim, type TgiSimOptions } from './tgi/index.ts';

/** SageMaker endpoint names of the fleet, by model kind. */
export const FLEET_SAGEMAKER_ENDPOINTS = {
  llm: 'llama-2-7b-chat-sm',
  vlm: 'idefics-9b-instruct-sm',
  asr: 'whisper-large-v3-sm',
  segmenter: 'grounded-sam-sm',
} as const;

export interface FleetSimOptions {
  /** Bind address for every service (default 127.0.0.1). */
  host?: string;
  /** Ports (default 0 = ephemeral). */
  llmPort?: number;
  vlmPort?: number;
  /** Port of the simulated SageMaker runtime (default 0 = ephemeral). */
  sagemakerPort?: number;
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
  /** SageMaker runtime overrides (chunking, account, ...); its endpoints always front llm, vlm and
   *  Grounded-SAM. */
  sagemaker?: Omit<SageMakerSimOptions, 'endpoints' | 'host' | 'port'>;
  /** Port of the simulated Grounded-SAM service (default 0 = ephemeral). */
  groundedSamPort?: number;
  /** Grounded-SAM overrides (detectMs, perMaskMs, jitter); the fleet's jitter applies unless set here. */
  groundedSam?: Omit<GroundedSamSimOptions, 'host' | 'port'>;
  /** Port of the simulated WhisperLive server (default 0 = ephemeral; the real default is 9090). */
  whisperLivePort?: number;
  /** WhisperLive overrides (modelLoadMs, partialEveryMs, endSilenceMs, maxClients, fault, ...); the
   *  fleet's jitter applies unless set here. */
  whisperLive?: Omit<WhisperLiveSimOptions, 'host' | 'port'>;
  /** Port of the simulated whisper-asr-webservice (default 0 = ephemeral; the real default is 9000). */
  whisperAsrPort?: number;
  /** whisper-asr-webservice overrides (engine, baseMs, perAudioSecondMs, concurrency, fault, ...). */
  whisperAsr?: Omit<WhisperAsrSimOptions, 'host' | 'port'>;
  /** Port of the simulated zero-shot intent classifier (default 0 = ephemeral). */
  zeroShotPort?: number;
  /** The SageMaker Whisper endpoint `whisper-large-v3-sm` (latency, maxAudioS, ...). */
  sagemakerWhisper?: Omit<SageMakerWhisperEndpointConfig, 'whisper'>;
}

export interface FleetSim {
  llm: TgiSim;
  vlm: TgiSim;
  llmUrl: string;
  vlmUrl: string;
  urls: { llm: string; vlm: string };
  /** Simulated SageMaker runtime: endpoint `sagemakerEndpoints.llm` fronts llm, `.vlm` fronts vlm,
   *  `.segmenter` fronts groundedSam. */
  sagemaker: SageMakerSim;
  /** Give it to the AWS SDK as `endpoint` (any region and fake credentials will do). */
  sagemakerUrl: string;
  /** `asr` is a JumpStart Whisper endpoint (InvokeEndpoint with audio/wav → {"text": [...]});
   *  `segmenter` a Grounded-SAM container (the /detect_segment body, NDJSON answers). */
  sagemakerEndpoints: { llm: string; vlm: string; asr: string; segmenter: string };
  /** Simulated Grounded-SAM service (POST /detect_segment, protocol/GROUNDED-SAM.md). */
  groundedSam: GroundedSamSim;
  groundedSamUrl: string;
  /** Simulated WhisperLive (ws://host:port, §5 of the backend protocols). */
  whisperLive: WhisperLiveSim;
  whisperLiveUrl: string;
  /** Simulated whisper-asr-webservice (POST /asr, /detect-language; §6). */
  whisperAsr: WhisperAsrSim;
  whisperAsrUrl: string;
  /** Simulated HF zero-shot-classification endpoint (the seed's mDeBERTa intent pipeline). */
  zeroShot: ZeroShotSim;
  zeroShotUrl: string;
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
  const started: { close(): Promise<void> }[] = [];
  try {
    const llm = await startTgiSim({ ...shared, kind: 'llm', port: opts.llmPort ?? 0, ...opts.llm });
    started.push(llm);
    const vlm = await startTgiSim({ ...shared, kind: 'vlm', port: opts.vlmPort ?? 0, ...opts.vlm });
    started.push(vlm);
    const groundedSam = await startGroundedSamSim({
      ...(opts.host !== undefined ? { host: opts.host } : {}),
      ...(opts.jitter !== undefined ? { jitter: opts.jitter } : {}),
      ...opts.groundedSam,
      port: opts.groundedSamPort ?? 0,
    });
    started.push(groundedSam);
    const sagemaker = await startSageMakerSim({
      ...opts.sagemaker,
      ...(opts.host !== undefined ? { host: opts.host } : {}),
      port: opts.sagemakerPort ?? 0,
      endpoints: {
        [FLEET_SAGEMAKER_ENDPOINTS.llm]: { tgiUrl: llm.url },
        [FLEET_SAGEMAKER_ENDPOINTS.vlm]: { tgiUrl: vlm.url },
        [FLEET_SAGEMAKER_ENDPOINTS.asr]: {
          ...(opts.jitter !== undefined ? { latency: { jitter: opts.jitter } } : {}),
          ...opts.sagemakerWhisper,
          whisper: true,
        },
        [FLEET_SAGEMAKER_ENDPOINTS.segmenter]: { groundedSam: true, groundedSamUrl: groundedSam.url },
      },
    });
    started.push(sagemaker);
    const hostOpt = opts.host !== undefined ? { host: opts.host } : {};
    const jitterOpt = opts.jitter !== undefined ? { jitter: opts.jitter } : {};
    const whisperLive = await startWhisperLiveSim({ ...hostOpt, ...jitterOpt, ...opts.whisperLive, port: opts.whisperLivePort ?? 0 });
    started.push(whisperLive);
    const whisperAsr = await startWhisperAsrSim({ ...hostOpt, ...jitterOpt, ...opts.whisperAsr, port: opts.whisperAsrPort ?? 0 });
    started.push(whisperAsr);
    const zeroShot = await startZeroShotSim({ ...hostOpt, port: opts.zeroShotPort ?? 0 });
    started.push(zeroShot);
    return {
      llm,
      vlm,
      llmUrl: llm.url,
      vlmUrl: vlm.url,
      urls: { llm: llm.url, vlm: vlm.url },
      sagemaker,
      sagemakerUrl: sagemaker.url,
      sagemakerEndpoints: { ...FLEET_SAGEMAKER_ENDPOINTS },
      groundedSam,
      groundedSamUrl: groundedSam.url,
      whisperLive,
      whisperLiveUrl: whisperLive.url,
      whisperAsr,
      whisperAsrUrl: whisperAsr.url,
      zeroShot,
      zeroShotUrl: zeroShot.url,
      close: async () => {
        // The SageMaker front first, so it does not see its containers vanish mid-stream.
        await sagemaker.close();
        await Promise.all([llm.close(), vlm.close(), groundedSam.close(), whisperLive.close(), whisperAsr.close(), zeroShot.close()]);
      },
    };
  } catch (err) {
    await Promise.all(started.map((s) => s.close()));
    throw err;
  }
}

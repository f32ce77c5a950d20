// Maps the gateway config's `asr` block onto the ASR adapter config (or none when voice input has
// no service configured), and puts the adapter behind the admission gate every session shares.
import type { Logger } from 'pino';
import type { Config } from './config/schema.ts';
import type { StaticAwsCredentials } from './backends/sagemaker/index.ts';
import { createAsrBackend, type AsrBackend, type AsrBackendConfig } from './backends/asr/index.ts';
import { gateAsrBackend } from './backends/asr/gate.ts';
import type { GatewayMetrics } from './observability/metrics.ts';

/** After a hold, held sessions come back spread over this much, ms. */
const REOPEN_SPREAD_MS = 1_000;

export function asrBackendConfig(config: Config, credentials?: StaticAwsCredentials): AsrBackendConfig | undefined {
  const a = config.asr;
  const common = {
    partialIntervalMs: a.partialIntervalMs,
    finalizeTimeoutMs: a.finalizeTimeoutMs,
    requestTimeoutMs: a.requestTimeoutMs,
    maxUtteranceMs: a.maxUtteranceMs,
  };
  switch (a.backend) {
    case 'whisperlive':
      return a.url === undefined ? undefined : { kind: 'whisperlive', url: a.url, model: a.model, ...common };
    case 'whisper-asr':
      return a.url === undefined ? undefined : { kind: 'whisper-asr', url: a.url, ...common };
    case 'sagemaker': {
      const sm = a.sagemaker;
      if (!sm) return undefined;
      return {
        kind: 'sagemaker',
        endpointName: sm.endpointName,
        ...(sm.region !== undefined ? { region: sm.region } : {}),
        ...(sm.endpointUrl !== undefined ? { endpointUrl: sm.endpointUrl } : {}),
        ...(credentials !== undefined ? { credentials } : {}),
        connectTimeoutMs: config.upstream.connectTimeoutMs,
        ...common,
      };
    }
    default: {
      const never: never = a.backend;
      throw new Error(`unknown asr backend ${String(never)}`);
    }
  }
}

export function createConfiguredAsr(
  config: Config,
  deps: { credentials?: StaticAwsCredentials; metrics: Pick<GatewayMetrics, 'asrHeld' | 'asrStreamsRefusedTotal'>; log: Logger },
): AsrBackend | undefined {
  const cfg = asrBackendConfig(config, deps.credentials);
  if (cfg === undefined) return undefined;
  const backend = createAsrBackend(cfg);
  const { metrics, log } = deps;
  return gateAsrBackend(backend, {
    holdBaseMs: config.asr.holdBaseMs,
    holdMaxMs: config.asr.holdMaxMs,
    // A little over the adapter's own deadline for a stream to become ready (its ready timer
    // starts a moment after the gate's trial does).
    trialMs: config.asr.requestTimeoutMs + 1_000,
    spreadMs: REOPEN_SPREAD_MS,
    events: {
      held: (code, holdMs, failures) => {
        metrics.asrHeld.set(1);
        log.warn({ backend: backend.id, code, holdMs: Math.round(holdMs), failures }, 'speech recognizer failing: new streams are held');
      },
      released: (failures) => {
        metrics.asrHeld.set(0);
        log.info({ backend: backend.id, failures }, 'speech recognizer answers again: new streams open');
      },
      refused: (code) => metrics.asrStreamsRefusedTotal.inc({ code }),
    },
  });
}
